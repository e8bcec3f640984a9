# TAP::Parser::SourceHandler::ModlifeCase: how `make check` has prove run a
# case file, `RUNNER... CASE`, through a piped open (one fork and exec, one
# pipe) rather than prove's --exec, whose IPC::Open3 costs about as much
# CPU per case as the runner and the driver together (bench/README.md,
# "Suite speed"). prove's output, TAP parsing, -j, formatters and the
# runner's stderr on the terminal are prove's own, unchanged.
#
#   PERL5LIB=tools/perl prove --source ModlifeCase \
#       --modlifecase-option 'command=RUNNER ARGS' cases/...
#
# The command is split on white space, as prove splits --exec.
package TAP::Parser::SourceHandler::ModlifeCase;
use strict;
use warnings;
use parent 'TAP::Parser::SourceHandler::Executable';
use TAP::Parser::IteratorFactory;

TAP::Parser::IteratorFactory->register_handler(__PACKAGE__);

# Case files only, and ahead of every other handler.
sub can_handle {
	my ($class, $source) = @_;
	my $meta = $source->meta;
	return 0 unless $meta->{is_file} && $meta->{file}{lc_ext} eq '.case';
	return 1;
}

sub make_iterator {
	my ($class, $source) = @_;
	my $config = $source->config_for($class) || {};
	my @command = split ' ', ($config->{command} // '');
	$class->_croak('ModlifeCase: no command= option') unless @command;
	my $file = ${ $source->raw };
	$class->_autoflush(\*STDOUT);
	$class->_autoflush(\*STDERR);
	open(my $fh, '-|', @command, $file)
		or $class->_croak("ModlifeCase: cannot run $command[0]: $!");
	return TAP::Parser::Iterator::ModlifePipe->new($fh);
}

# A stream whose end reaps the process and reports its wait status, as
# prove's own process iterator does (a crashing runner is a failure).
package TAP::Parser::Iterator::ModlifePipe;
use parent -norequire, 'TAP::Parser::Iterator::Stream';
use TAP::Parser::Iterator::Stream;

sub _finish {
	my $self = shift;
	my $fh = delete $self->{fh};
	close $fh;
	$self->{wait} = $?;
	$self->{exit} = $? >> 8;
}

sub wait { $_[0]{wait} // 0 }
sub exit { $_[0]{fh} ? () : $_[0]{exit} // 0 }

1;
