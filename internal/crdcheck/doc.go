// Package crdcheck runs the Kubernetes API server's own checks on Signet's
// CustomResourceDefinitions (deploy/crds): that their schemas are
// structural, that the whole CRD validates as kubectl apply would meet it
// (CEL rules compiled, their cost estimated), and that policy objects are
// accepted or refused by the schema and its CEL rules as intended. It is
// a module of its own, so the API server's packages never enter the
// signet module's dependencies: cd internal/crdcheck && go test ./...
package crdcheck
