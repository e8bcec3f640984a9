#!/usr/bin/perl
# The Prosody driver's stderr carries nothing unrelated to the case
# (issue 15): not the start-up's missing ./certs or "No active
# VirtualHost", not the network's lines, not the default auth providers
# that a case does not provide; but a module's own messages, and an auth
# provider the case wrote and that fails to load, still are.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

plan skip_all => 'real Prosody is not set up (make prosody-setup)'
	unless -d "$Selftest::ROOT/build/prosody/usr/lib/prosody";

my $dir = tempdir('mlq.XXXXXX', DIR => '/tmp', CLEANUP => 1);
sub stderr_of {
	my ($input) = @_;
	open my $in, '>', "$dir/in" or die $!;
	print $in $input;
	close $in;
	system("adapters/prosody/modlife-prosody $dir < $dir/in > $dir/out 2> $dir/err");
	open my $e, '<', "$dir/err" or die $!;
	local $/;
	return <$e> // '';
}

open my $m, '>', "$dir/mod_x.lua" or die $!;
print $m "module:log('info', 'hello from x')\n";
close $m;
my $err = stderr_of("activate a.example\nload a.example x\n");
unlike($err, qr/certs/, 'no word of the certificate folder');
unlike($err, qr/VirtualHost/, 'nor of VirtualHost entries');
unlike($err, qr/auth/, 'nor of the auth providers the case does not provide');
unlike($err, qr/^(?:portmanager|certmanager|startup|stats|unbound)\t/m, 'nor of the network and start-up');
like($err, qr/^a\.example:x\tinfo\thello from x$/m, "the module's own message is there");

open $m, '>', "$dir/mod_auth_internal_hashed.lua" or die $!;
print $m "error('broken provider')\n";
close $m;
$err = stderr_of("activate a.example\n");
like($err, qr/broken provider/, 'an auth provider the case wrote that fails is still shown');
done_testing;
