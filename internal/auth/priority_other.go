//go:build !linux

package auth

// lowerThreadPriority does nothing where nice values are not per thread.
func lowerThreadPriority() {}
