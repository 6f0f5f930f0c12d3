package main

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/signet-dev/signet/admission"
)

// TestHelmChartServeArgs parses the arguments the Helm chart passes to
// `signet admission serve`, for each of its tested value sets, with the real
// command: every flag exists and every value parses. deploy/helm's
// TestChart keeps the file equal to what the chart renders.
func TestHelmChartServeArgs(t *testing.T) {
	data, err := os.ReadFile("../../deploy/helm/testdata/serve-args.json")
	if err != nil {
		t.Fatal(err)
	}
	var sets map[string][]string
	if err := json.Unmarshal(data, &sets); err != nil {
		t.Fatal(err)
	}
	if len(sets) == 0 {
		t.Fatal("deploy/helm/testdata/serve-args.json has no argument lists")
	}
	for name, args := range sets {
		t.Run(name, func(t *testing.T) {
			if len(args) < 2 || args[0] != "admission" || args[1] != "serve" {
				t.Fatalf("the chart runs %v, not admission serve", args)
			}
			serve := newAdmissionServeCmd(&streams{out: io.Discard, err: io.Discard})
			if err := serve.ParseFlags(args[2:]); err != nil {
				t.Fatalf("signet admission serve refuses the chart's arguments %v: %v", args[2:], err)
			}
			mode, _ := serve.Flags().GetString("failure-mode")
			if _, err := admission.ParseFailureMode(mode); err != nil {
				t.Errorf("--failure-mode=%s: %v", mode, err)
			}
		})
	}
}
