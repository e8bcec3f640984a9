# TAP::Parser::SourceHandler::ModlifeCase: how `make check` has prove run a
# case file, `RUNNER... CASE`, without prove's --exec: --exec forks prove
# (a Perl process of some 20 MB) and goes through IPC::Open3 for every
# case, which costs more CPU than the runner and the driver of the case
# together (bench/README.md, "Suite speed"). prove's output, TAP parsing,
# -j, formatters, TODO handling and the runner's stderr on the terminal
# are prove's own, unchanged.
#
#   PERL5LIB=tools/perl prove --source ModlifeCase \
#       --modlifecase-option 'command=RUNNER ARGS' \
#       [--modlifecase-option spawn=build/modlife-spawn] cases/...
#
# With spawn=, each case is handed to a long-lived modlife-spawn
# (tools/spawn.c), one per case running at a time, which starts the
# runner and reports its wait status after the runner's TAP; without it,
# the runner is started by a piped open (one fork of prove, one pipe).
# The command is split on white space, as prove splits --exec.
package TAP::Parser::SourceHandler::ModlifeCase;
use strict;
use warnings;
use parent 'TAP::Parser::SourceHandler::Executable';
use IPC::Open2 ();
use TAP::Parser::IteratorFactory;
use TAP::Parser::Iterator::Stream;

TAP::Parser::IteratorFactory->register_handler(__PACKAGE__);

# Case files only, and ahead of every other handler.
sub can_handle {
	my ($class, $source) = @_;
	my $meta = $source->meta;
	return 0 unless $meta->{is_file} && $meta->{file}{lc_ext} eq '.case';
	return 1;
}

my %idle;       # spawn command -> idle modlife-spawn processes
my @servers;    # every modlife-spawn started, reaped at exit

# At exit: end of input for each modlife-spawn, which then exits, and
# reap it, so that nothing outlives prove and its CPU time is counted.
END {
	my $status = $?;
	close $_->{in} for @servers;
	waitpid $_->{pid}, 0 for @servers;
	$? = $status;
}

sub make_iterator {
	my ($class, $source) = @_;
	my $config = $source->config_for($class) || {};
	my @command = split ' ', ($config->{command} // '');
	$class->_croak('ModlifeCase: no command= option') unless @command;
	my $file = ${ $source->raw };
	$class->_autoflush(\*STDOUT);
	$class->_autoflush(\*STDERR);
	if (my $spawn = $config->{spawn}) {
		my $key = join "\0", $spawn, @command;
		my $server = pop @{ $idle{$key} } // do {
			my ($out, $in);
			my $pid = IPC::Open2::open2($out, $in, $spawn, @command);
			push @servers, { pid => $pid, out => $out, in => $in };
			$servers[-1];
		};
		$server->{in}->autoflush(1);
		print { $server->{in} } "$file\n"
			or $class->_croak("ModlifeCase: $spawn: $!");
		return TAP::Parser::Iterator::ModlifeSpawned->new($server, $idle{$key} //= []);
	}
	open(my $fh, '-|', @command, $file)
		or $class->_croak("ModlifeCase: cannot run $command[0]: $!");
	return TAP::Parser::Iterator::ModlifePipe->new($fh);
}

# A stream whose end reaps the process and reports its wait status, as
# prove's own process iterator does (a crashing runner is a failure).
package TAP::Parser::Iterator::ModlifePipe;
use parent -norequire, 'TAP::Parser::Iterator::Stream';

sub _finish {
	my $self = shift;
	my $fh = delete $self->{fh};
	close $fh;
	$self->{wait} = $?;
	$self->{exit} = $? >> 8;
}

sub wait { $_[0]{wait} // 0 }
sub exit { $_[0]{fh} ? () : $_[0]{exit} // 0 }

# The runner's TAP as modlife-spawn relays it, up to its end line, which
# carries the wait status; the spawner then goes back to the idle list.
# No select handle: the multiplexer reads it to its end in turn, while
# the other jobs' runners go on running.
package TAP::Parser::Iterator::ModlifeSpawned;
use parent -norequire, 'TAP::Parser::Iterator';

sub _initialize {
	my ($self, $server, $idle) = @_;
	$self->{server} = $server;
	$self->{idle} = $idle;
	return $self;
}

sub next_raw {
	my $self = shift;
	my $server = $self->{server} or return;
	my $fh = $server->{out};
	my $line = <$fh>;
	if (!defined $line) {
		# modlife-spawn died: the case failed.
		delete $self->{server};
		$self->{wait} = 255 << 8;
		$self->{exit} = 255;
		return;
	}
	chomp $line;
	return $line unless $line =~ /\A(.*)\x01modlife-spawn-end (-?\d+)\z/s;
	my ($rest, $status) = ($1, $2);
	delete $self->{server};
	push @{ $self->{idle} }, $server;
	$self->{wait} = $status;
	$self->{exit} = $status >> 8;
	return length $rest ? $rest : undef;
}

sub wait { $_[0]{wait} // 0 }
sub exit { $_[0]{server} ? () : $_[0]{exit} // 0 }
sub get_select_handles { return }

1;
