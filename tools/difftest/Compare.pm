# Compare.pm - does the reference's transcript of a scenario match
# Prosody's? (tools/difftest, README.md there)
#
# Both transcripts come from the runner's record mode (runner/record.c),
# so they are the drivers' lines as the runner reads them. A step matches
# when its lines are equal, or when they differ only by an order that a
# spec rule leaves unspecified:
#
#   R-HOST-8   the unloads of a deactivation,
#   R-DEP-10   the unloads or reloads of several dependents,
#       both: the step is the same prefix and suffix around blocks that
#       each end with one `module-unloaded` (or `module-reloaded`) event,
#       in any order;
#   R-UNLOAD-6 the item keys of an unload: runs of `item-removed/KEY`
#       events (with the lines their handlers log) in any order, each
#       key's run intact.
#
# Every other order is compared as it is (the generator avoids the other
# unspecified orders: Gen.pm). as_groups writes such a step of a finding
# with the case format's `{ any order` group, so that the finding passes
# on Prosody whatever order Prosody takes next time.
package Compare;
use strict;
use warnings;

# Splits LINES into (prefix, [blocks], suffix) at lines matching DELIM
# (each block ends with one), the prefix being the first K lines.
sub split_blocks {
	my ($lines, $delim, $k) = @_;
	my @l = @$lines;
	my @pre = splice @l, 0, $k;
	my ($last) = grep { $l[$_] =~ $delim } reverse 0 .. $#l;
	return unless defined $last;
	my @suf = splice @l, $last + 1;
	my (@blocks, @cur);
	for (@l) {
		push @cur, $_;
		if ($_ =~ $delim) { push @blocks, [@cur]; @cur = () }
	}
	return (\@pre, \@blocks, \@suf);
}

sub same_multiset {
	my ($a, $b) = @_;
	return 0 unless @$a == @$b;
	my %n;
	$n{ join "\n", @$_ }++ for @$a;
	$n{ join "\n", @$_ }-- for @$b;
	return !grep { $_ } values %n;
}

sub eq_lines { my ($a, $b) = @_; return join("\n", @$a) eq join("\n", @$b); }

# R-DEP-6 with R-HOST-8: a dependent is unloaded either by its
# dependency's auto-unload, when the dependency goes first (its block then
# holds the `Auto-unloading` line), or directly (cases/depends/
# deactivate-with-dependent.case: "one of").
#
# And what a module's handler logs inside another module's unload depends
# on whether that handler's module was unloaded before (R-HOST-8 lets
# either go first): a block keeps only its own module's lines.
sub strip_auto {
	my ($blocks) = @_;
	my @out;
	for my $b (@$blocks) {
		my ($me) = $b->[-1] =~ / module=(\S+)/;
		push @out, [ grep {
			!/^log \S+ info Auto-unloading due to unload of / &&
			(!/^log (\S+) / || $1 =~ /^(?:[^:\s]*:|mod_)\Q$me\E$/)
		} @$b ];
	}
	return \@out;
}

# R-HOST-8, R-DEP-10: blocks ending at module-unloaded/-reloaded events.
my $UNLOAD_DELIM = qr/^event \S+ module-(?:unloaded|reloaded) /;

sub blocks_permuted {
	my ($p, $r) = @_;
	my ($first) = grep { $p->[$_] =~ $UNLOAD_DELIM } 0 .. $#$p;
	return 0 unless defined $first;
	for my $k (0 .. $first) {
		my ($pp, $pb, $ps) = split_blocks($p, $UNLOAD_DELIM, $k);
		my ($rp, $rb, $rs) = split_blocks($r, $UNLOAD_DELIM, $k);
		next unless $pp && $rp && @$pb >= 2;
		return { k => $k } if eq_lines($pp, $rp) && eq_lines($ps, $rs) &&
			same_multiset(strip_auto($pb), strip_auto($rb));
	}
	return 0;
}

# R-UNLOAD-6: units = an item-removed event and the log lines after it;
# consecutive units of one key form that key's run.
sub key_runs {
	my ($lines) = @_;
	my $unit_start = qr{^(?:event \S+ item-removed/(\S+)|log \S+ \S+ wrap item-removed/(\S+) )};
	my ($start) = grep { $lines->[$_] =~ $unit_start } 0 .. $#$lines;
	return unless defined $start;
	my $i = $start;
	my (@runs, $key);
	# A handler of the event logs it by name, or as handle_items' removed
	# callback (Gen.pm); other lines are the step's own.
	while ($i < @$lines && $lines->[$i] =~ $unit_start) {
		my $k = $1 // $2;
		my @unit = ($lines->[$i++]);
		# (A wrapper's line opens the next unit, of its own key.)
		push @unit, $lines->[$i++] while $i < @$lines && $lines->[$i] !~ $unit_start
			&& $lines->[$i] =~ m{^log .*(?:item-removed/|handle removed )};
		if (defined $key && $key eq $k) { push @{ $runs[-1] }, @unit }
		else { push @runs, [@unit]; $key = $k }
	}
	return ([ @$lines[0 .. $start - 1] ], \@runs, [ @$lines[$i .. $#$lines] ]);
}

sub keys_permuted {
	my ($p, $r) = @_;
	my ($pp, $pr, $ps) = key_runs($p);
	my ($rp, $rr, $rs) = key_runs($r);
	return 0 unless $pp && $rp;
	# A handler that raises on one key stops the removal there: the side
	# that reached it first removed fewer keys (each of them one the
	# other side removed too), and both end with that same raise.
	if (@$ps == 1 && @$rs == 1 && $ps->[0] eq $rs->[0] && $ps->[0] =~ /^raise / &&
	    eq_lines($pp, $rp)) {
		my ($small, $big) = @$pr <= @$rr ? ($pr, $rr) : ($rr, $pr);
		my %n;
		$n{ join "\n", @$_ }++ for @$big;
		return 'weak' unless grep { !$n{ join "\n", @$_ }-- } @$small;
	}
	return 0 unless eq_lines($pp, $rp) && same_multiset($pr, $rr);
	# Every unload in the step (module code may unload several) is one
	# region of runs: the rest is compared the same way.
	return 1 if eq_lines($ps, $rs);
	return keys_permuted($ps, $rs);
}

# R-HOST-8: which module a deactivation unloads first decides what the
# others' handlers see (a module unloaded earlier no longer hears the
# later unloads; a handler that raises stops the deactivation at the
# first unload). Such a step is compared by its result line, what
# follows the last unload, and how many modules it unloaded (with a
# raise on either side: only that the raising side unloaded no more): a weaker
# comparison, and the reason a deactivation of several modules is not
# the place to look for other differences (README.md).
sub deactivation_alike {
	my ($p, $r) = @_;
	my $np = grep { $_ =~ $UNLOAD_DELIM } @$p;
	my $nr = grep { $_ =~ $UNLOAD_DELIM } @$r;
	# A handler that raises on one module's unload (a wrapper of
	# module-unloaded) stops the deactivation there: whether it runs
	# depends on whether its own module went first. A side that raised
	# must have unloaded no more modules than the other.
	if ($p->[-1] ne $r->[-1] && ($p->[-1] =~ /^raise / || $r->[-1] =~ /^raise /)) {
		# Both raised: each order ran another raising handler first
		# (seed 1 scenario 2575 against 13.0.1).
		return 1 if $p->[-1] =~ /^raise / && $r->[-1] =~ /^raise /;
		my ($raised, $other) = $p->[-1] =~ /^raise / ? ($np, $nr) : ($nr, $np);
		return $other >= 1 && $raised <= $other;
	}
	return 0 unless $np >= 2 && $np == $nr && $p->[-1] eq $r->[-1];
	my ($lp) = grep { $p->[$_] =~ $UNLOAD_DELIM } reverse 0 .. $#$p;
	my ($lr) = grep { $r->[$_] =~ $UNLOAD_DELIM } reverse 0 .. $#$r;
	my @sp = grep { !/^log / } @$p[$lp + 1 .. $#$p];
	my @sr = grep { !/^log / } @$r[$lr + 1 .. $#$r];
	return eq_lines(\@sp, \@sr);
}

# SPEC.md (the sources) and PROTOCOL.md §7: where an error raised inside
# Prosody's own code carries its position (`/usr/lib/prosody/core/
# moduleapi.lua:167: ...`), the line is 0.12.3's; 13.0.1's lines differ and
# are not specified (cases match them with `{*}`). Against 13 (RELEASE),
# such a line number is blanked on both sides before comparing; nothing
# else in the line is.
sub without_positions {
	my ($lines) = @_;
	return [ map { s{(/usr/lib/prosody/[\w/]+\.lua):\d+}{$1:LINE}gr } @$lines ];
}

# Does step R (the reference's lines) match step P (Prosody's)? Returns
# '' for equal, the rule id that allows the difference, or undef.
# RELEASE (13) also allows 13.0.1's positions ("positions RULE").
sub step_match {
	my ($cmd, $p, $r, $release) = @_;
	return '' if eq_lines($p, $r);
	if (defined $release && $release ne '0.12') {
		my ($bp, $br) = (without_positions($p), without_positions($r));
		if (!eq_lines($bp, $p) || !eq_lines($br, $r)) {
			my $m = step_match($cmd, $bp, $br);
			return defined $m ? "positions$m" =~ s/^positions(?=.)/positions /r : undef;
		}
	}
	# A weak match (the order changed what happened) ends the comparison
	# of the scenario: the states after it may differ (the caller stops).
	return 'R-HOST-8 weak' if $cmd =~ /^deactivate / && deactivation_alike($p, $r);
	if ($cmd =~ /^(?:unload|reload) / && blocks_permuted($p, $r)) {
		return $cmd =~ /^deactivate/ ? 'R-HOST-8' : 'R-DEP-10';
	}
	my $k = keys_permuted($p, $r);
	return $k eq 'weak' ? 'R-UNLOAD-6 weak' : 'R-UNLOAD-6' if $k;
	return undef;
}

# Prosody's lines of one step for a case file: where the step has an
# order R-HOST-8 / R-DEP-10 / R-UNLOAD-6 leave open, as a group.
sub as_groups {
	my ($cmd, $p) = @_;
	my ($first) = grep { $p->[$_] =~ $UNLOAD_DELIM } 0 .. $#$p;
	my @blocks;
	if (defined $first) {
		# The widest prefix that no block can claim: lines before the
		# first line that names a module being unloaded are ambiguous,
		# so they stay outside only when there is one block.
		my ($pp, $pb, $ps) = split_blocks($p, $UNLOAD_DELIM, 0);
		if ($pb && @$pb >= 2) {
			return [ @$pp, '{ any order', (map { (@$_, '--') } @$pb[0 .. $#$pb - 1]), @{ $pb->[-1] }, '}', @$ps ];
		}
	}
	my ($kp, $kr, $ks) = key_runs($p);
	if ($kp && @$kr >= 2) {
		return [ @$kp, '{ any order', (map { (@$_, '--') } @$kr[0 .. $#$kr - 1]), @{ $kr->[-1] }, '}', @$ks ];
	}
	return $p;
}

1;
