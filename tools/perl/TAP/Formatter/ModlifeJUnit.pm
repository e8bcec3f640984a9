# TAP::Formatter::ModlifeJUnit: prove's JUnit formatter
# (TAP::Formatter::JUnit) with skips and known failures marked as what
# they are, `<skipped message="..."/>`, not as passes: a case skipped for
# a capability the driver lacks (TAP SKIP) and a known failure of the
# expectations file (TAP TODO that still fails) are shown as not run by
# GitLab, Jenkins and the like, so a CI page never counts them as passed.
#
#   PERL5LIB=tools/perl prove --formatter TAP::Formatter::ModlifeJUnit ...
package TAP::Formatter::ModlifeJUnit;
use strict;
use warnings;
use parent 'TAP::Formatter::JUnit';

sub open_test {
	my ($self, $test, $parser) = @_;
	return TAP::Formatter::ModlifeJUnit::Session->new({
		name            => $test,
		formatter       => $self,
		parser          => $parser,
		passing_todo_ok => $ENV{ALLOW_PASSING_TODOS} ? 1 : 0,
	});
}

package TAP::Formatter::ModlifeJUnit::Session;
use strict;
use warnings;
use parent -norequire, 'TAP::Formatter::JUnit::Session';

# The element that goes inside a <testcase>: failures and errors as the
# JUnit formatter has them, then <skipped/> for a SKIP and for a TODO that
# failed (a TODO that passes is the base class's business: an error unless
# ALLOW_PASSING_TODOS, which make check sets unless STRICT).
sub _check_for_test_bogosity {
	my ($self, $result) = @_;
	my $bogus = $self->SUPER::_check_for_test_bogosity($result);
	$result = $result->result;    # the TAP::Parser::Result inside
	return $bogus if $bogus;
	return { level => 'skipped', type => 'Skipped',
		message => 'skipped: ' . ($result->explanation // '') }
		if $result->has_skip;
	return { level => 'skipped', type => 'KnownFailure',
		message => 'known failure: ' . ($result->explanation // '') }
		if $result->has_todo && !$result->is_actual_ok;
	return;
}

1;
