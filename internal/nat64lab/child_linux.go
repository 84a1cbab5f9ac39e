//go:build linux

package nat64lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/dualstack/dualstack/internal/netns"
)

// The child's job travels in these environment variables, its answer on
// a stdout line that starts with resultMark.
const (
	envJob     = "NAT64LAB_JOB"
	envArg     = "NAT64LAB_ARG"
	resultMark = "NAT64LAB-RESULT "
)

// RunChild runs the test binary in namespace ns as a child that does job
// with arg (encoded as JSON), and decodes the value the child passed to
// [Reply] into result. The child's TestMain must call [ChildJob] first.
// It ends when ctx does (the child is killed by its process id).
func (l *Lab) RunChild(ctx context.Context, ns *netns.NS, job string, arg, result any) error {
	a, err := json.Marshal(arg)
	if err != nil {
		return fmt.Errorf("child %s in %s: argument: %w", job, ns.Name, err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envJob+"="+job, envArg+"="+string(a))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child %s in %s: %v\n%s%s", job, ns.Name, err, out.String(), errOut.String())
	}
	for line := range strings.Lines(out.String()) {
		if text, ok := strings.CutPrefix(line, resultMark); ok {
			if err := json.Unmarshal([]byte(text), result); err != nil {
				return fmt.Errorf("child %s in %s: result %q: %w", job, ns.Name, strings.TrimSpace(text), err)
			}
			return nil
		}
	}
	return fmt.Errorf("child %s in %s gave no result:\n%s%s", job, ns.Name, out.String(), errOut.String())
}

// ChildJob reports whether this process is a child started by
// [Lab.RunChild], with its job and argument (JSON). Call it first in
// TestMain.
func ChildJob() (job string, arg []byte, ok bool) {
	job = os.Getenv(envJob)
	return job, []byte(os.Getenv(envArg)), job != ""
}

// Reply writes the child's result for [Lab.RunChild].
func Reply(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s%s\n", resultMark, b)
	return err
}
