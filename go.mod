module github.com/dualstack/dualstack

go 1.26
