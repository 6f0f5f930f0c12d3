// Package startfloor holds off the garbage collector from package
// initialisation on, for a command's main package to import for its side
// effect:
//
//	import _ "github.com/signet-dev/signet/internal/gcpace/startfloor"
//
// Package initialisation allocates about 3 MB in signet, enough for a
// collection (the first comes at 4 MB) before main could call gcpace.Floor.
// Go initialises, at each step, the first package by import path whose
// imports are initialised; this one imports little, so it is initialised
// before most of the program's allocation. Only a main package imports it:
// a library must not change a program's collector.
package startfloor

import "github.com/signet-dev/signet/internal/gcpace"

// Bytes is the heap the collector waits for (gcpace.Floor).
const Bytes = 32 << 20

func init() { gcpace.Floor(Bytes) }
