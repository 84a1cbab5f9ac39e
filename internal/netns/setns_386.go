//go:build linux

package netns

// sysSetns is setns(2) on linux/386, which package syscall does not name.
const sysSetns = 346
