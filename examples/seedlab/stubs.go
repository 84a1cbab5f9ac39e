package main

import "context"

func relayBounce(ctx context.Context) (Result, error) { return Result{}, nil }
func mxRouting(ctx context.Context) (Result, error)   { return Result{}, nil }
func clients(ctx context.Context) (Result, error)     { return Result{}, nil }
