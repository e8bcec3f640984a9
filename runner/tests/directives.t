#!/usr/bin/perl
# Module versions (=== mod_NAME.lua [LABEL]) and the directives between
# steps (! write, ! delete; spec/CASES.md): only first versions are in
# MODDIR at the start, each directive changes MODDIR before the next
# command, and a failing case shows the directives in its diff.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

expect_pass('versions are written by directives, between steps only',
	driver => [ driver('checkmods') ], case => case_file('versions'));

# The same case with one wrong expectation after a directive.
my $dir = tempdir('mlr-dir.XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $in, '<', case_file('versions') or die $!;
my $text = do { local $/; <$in> };
close $in;
$text =~ s/\[74 77 6f 0a\]/[74 77 6f 0b]/ or die 'case changed';
open my $out, '>', "$dir/versions.case" or die $!;
print $out $text;
close $out;
my $r = expect_fail('a wrong line after a directive fails',
	qr/output of step 3 \(> load h a\) differs/,
	driver => [ driver('checkmods') ], case => "$dir/versions.case");
like($r->{yaml}{diff}, qr/^ ! write mod_a\.lua \[v2\]\n ! write mod_b\.lua \[late\]\n > load h a\n-log file debug \[74 77 6f 0b\]\n\+log file debug \[74 77 6f 0a\]$/m,
     'the directives are in the diff, as context');

done_testing();
