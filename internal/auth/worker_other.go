//go:build !linux

package auth

import "os"

// lowerThreadPriority does nothing where nice values are not per thread.
func lowerThreadPriority() {}

// workerInput is the worker's standard input as it comes.
func workerInput() *os.File { return os.Stdin }
