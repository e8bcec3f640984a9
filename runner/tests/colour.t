#!/usr/bin/perl
# Colour in the failure report: the copy on stderr gets a bold reason and
# step and red/green diff lines only when stderr is a terminal and
# NO_COLOR is unset or empty (no-color.org) and TERM is not dumb; the TAP
# and YAML on stdout are always plain. The terminal is script(1)'s pty.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

plan skip_all => 'script(1) is not installed'
	unless system('script --version >/dev/null 2>&1') == 0;

my $tmp = tempdir('mlr-colour.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $cmd = "$RUN --driver " . driver('correct') . ' ' . log_file('basic-wrong') .
	' ' . case_file('basic') . " >$tmp/stdout";

sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!"; local $/; return scalar <$f> }

# Runs $cmd with stderr on a terminal; returns (terminal output, stdout).
sub on_tty {
	my ($env) = @_;
	my $tty = `env $env script -qec '$cmd' /dev/null`;
	return ($tty, slurp("$tmp/stdout"));
}

my ($tty, $stdout) = on_tty('-u NO_COLOR TERM=xterm');
like($tty, qr/\e\[31m-log a\.example:hello debug hi\e\[0m/, 'a terminal: removed lines red');
like($tty, qr/\e\[32m\+log a\.example:hello debug HI\e\[0m/, '... added lines green');
like($tty, qr/\e\[1m  message: /, '... the reason bold');
like($tty, qr/^\s+command: load a\.example hello\r?\n\e\[0m/m, '... the step too, then reset');
unlike($stdout, qr/\e/, '... the TAP on stdout stays plain');
like($stdout, qr/^    -log a\.example:hello debug hi$/m, '... and has the same diff');

($tty) = on_tty('NO_COLOR=1 TERM=xterm');
unlike($tty, qr/\e\[/, 'NO_COLOR=1: no colour');
like($tty, qr/-log a\.example:hello debug hi/, '... the report is still there');
($tty) = on_tty('NO_COLOR= TERM=xterm');
like($tty, qr/\e\[31m/, 'NO_COLOR empty: colour (no-color.org)');
($tty) = on_tty('-u NO_COLOR TERM=dumb');
unlike($tty, qr/\e\[/, 'TERM=dumb: no colour');

system("env -u NO_COLOR TERM=xterm $cmd 2>$tmp/stderr");
my $err = slurp("$tmp/stderr");
like($err, qr/-log a\.example:hello debug hi/, 'stderr not a terminal: the report');
unlike($err, qr/\e/, '... without colour');

done_testing();
