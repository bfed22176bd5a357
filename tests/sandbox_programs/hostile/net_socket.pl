# Perl sockets to the host's loopback server and a public address.
use IO::Socket::INET;
for my $peer ("127.0.0.1:@PORT@", "1.1.1.1:80") {
    my $s = IO::Socket::INET->new(PeerAddr => $peer, Timeout => 2);
    print $s ? "ESCAPED: $peer\n" : "CONTAINED $peer $!\n";
}
