//go:build linux

package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Daemon is a process started in the foreground in a process group of its
// own (a daemon may fork helpers), stopped by its process id.
type Daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartDaemon starts cmd (usually from [NS.Command]) with its output in
// the file out; name says what it is in errors.
func StartDaemon(name, out string, cmd *exec.Cmd) (*Daemon, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &Daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// String returns the daemon's name, as StartDaemon was given it.
func (d *Daemon) String() string { return d.name }

// Exited reports whether the daemon has ended.
func (d *Daemon) Exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the daemon, waits for it, and kills its process
// group if the daemon or a child of it lingers. The error says what had
// to be killed.
func (d *Daemon) Stop() error {
	pid := d.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %v", d.name, pid, err)
	}
	var err error
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		err = fmt.Errorf("%s (pid %d) ignored SIGTERM for 5 s: killed", d.name, pid)
		syscall.Kill(-pid, syscall.SIGKILL)
		<-d.done
	}
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(-pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(-pid, syscall.SIGKILL)
			return fmt.Errorf("%s's children (process group %d) outlived it: killed", d.name, pid)
		}
	}
	return err
}
