//go:build !unix

package oci

// Elsewhere the checks after opening (a regular file) still apply.
const (
	openNonblock = 0
	openNoFollow = 0
)
