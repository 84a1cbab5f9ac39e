// Package cli holds the command-line conventions the programs under
// examples/ share, so that they behave alike:
//
//   - exit status 0 on success and for -h (the help goes to standard
//     output), 1 when the job fails, 2 for a usage error;
//   - -h shows the positional arguments and the use of standard input, not
//     only the flags;
//   - a flag after a positional argument is a usage error that says so
//     (the flag package would silently take it as an argument), unless
//     "--" ends the flags;
//   - every error is printed once, on standard error, as "NAME: error";
//     a usage error adds one line pointing at -h.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	StatusOK     = 0 // success, or -h
	StatusFailed = 1 // the job failed
	StatusUsage  = 2 // the command line is wrong
)

// UsageError is a mistake in the command line: an unknown flag, a flag
// value that cannot be used, a missing or extra argument. Its exit status
// is [StatusUsage].
type UsageError struct {
	Err error
}

// Error is the usage problem, as the tool prints it.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a [*UsageError] with a formatted message (%w wraps).
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Streams are the standard streams of one run; tests pass buffers.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Std returns the process's standard streams.
func Std() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// Command is one program's command line.
type Command struct {
	// Name is the program's name in messages.
	Name string
	// Args is the synopsis of the positional arguments ("domain",
	// "[ADDR...]"), Help the text -h prints after the synopsis: what the
	// program does, its arguments and whether it reads standard input.
	Args, Help string
	// MinArgs and MaxArgs bound the number of positional arguments;
	// MaxArgs < 0 means any number.
	MinArgs, MaxArgs int
	// Flags are the program's flags; Parse parses them.
	Flags *flag.FlagSet
}

// New returns a Command with an empty flag set that reports nothing by
// itself: [Command.Parse] returns the errors and [Command.Exit] prints
// them, once.
func New(name, args string, minArgs, maxArgs int, help string) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Command{Name: name, Args: args, Help: help, MinArgs: minArgs, MaxArgs: maxArgs, Flags: fs}
}

// Parse parses the command line (without the program name) and returns
// the positional arguments. The error is [flag.ErrHelp] for -h or -help,
// and otherwise a [*UsageError].
func (c *Command) Parse(args []string) ([]string, error) {
	if err := c.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &UsageError{Err: err}
	}
	pos := c.Flags.Args()
	if at := len(args) - len(pos); at == 0 || args[at-1] != "--" {
		for _, a := range pos {
			if len(a) > 1 && a[0] == '-' {
				return nil, Usagef("flag %s after the argument %q: flags go before the arguments (or -- before an argument that starts with -)", a, pos[0])
			}
		}
	}
	switch {
	case len(pos) < c.MinArgs:
		return nil, Usagef("missing argument: want %s", c.Args)
	case c.MaxArgs == 0 && len(pos) > 0:
		return nil, Usagef("unexpected arguments %q: %s takes none", pos, c.Name)
	case c.MaxArgs >= 0 && len(pos) > c.MaxArgs:
		return nil, Usagef("too many arguments %q: want %s", pos, c.Args)
	}
	return pos, nil
}

// WriteHelp writes the -h text: the synopsis, the help text and the flags.
func (c *Command) WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n", c.synopsis())
	if c.Help != "" {
		fmt.Fprintln(w, strings.TrimRight(c.Help, "\n"))
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Flags:")
	c.Flags.SetOutput(w)
	c.Flags.PrintDefaults()
	c.Flags.SetOutput(io.Discard)
}

func (c *Command) synopsis() string {
	s := c.Name + " [flags]"
	if c.Args != "" {
		s += " " + c.Args
	}
	return s
}

// Exit reports the result of a run and returns its exit status: nothing
// and [StatusOK] for nil; the help on s.Out and StatusOK for
// [flag.ErrHelp]; the error and a pointer to -h on s.Err and
// [StatusUsage] for a [*UsageError]; the error on s.Err and
// [StatusFailed] otherwise.
func (c *Command) Exit(s Streams, err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, flag.ErrHelp):
		c.WriteHelp(s.Out)
		return StatusOK
	case errors.As(err, &ue):
		fmt.Fprintf(s.Err, "%s: %v\nusage: %s (%s -h for help)\n", c.Name, err, c.synopsis(), c.Name)
		return StatusUsage
	}
	fmt.Fprintf(s.Err, "%s: %v\n", c.Name, err)
	return StatusFailed
}

// IsTerminal reports whether v, a stream, is a terminal: v's own
// IsTerminal method when it has one (test doubles), otherwise whether v
// is an *os.File on a character device other than the null device (a
// terminal, in practice; no ioctl is needed).
func IsTerminal(v any) bool {
	if t, ok := v.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
