# Perl's open on the project's files.
for my $path ("@PROJECT_FILE@", "@HOME@/.bashrc") {
    if (open(my $fh, "<", $path)) { print "ESCAPED: read $path\n" } else { print "CONTAINED $path $!\n" }
}
