package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/oci"
)

// registryOptions is the flag group every command that talks to a registry shares.
type registryOptions struct {
	insecure   bool
	maxBytes   int64
	layouts    bool // the command reads oci-layout:DIR images
	layoutRepo string
	// embed is --embed-bundle where the command has it (addEmbedFlag); nil
	// keeps oci's default, so a command that signs without the flag (gate
	// receipts, tag heads) embeds as sign does.
	embed *bool
}

func (o *registryOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.insecure, "allow-insecure-registry", false,
		"allow plain HTTP to any registry (localhost and 127.0.0.1 always may use it)")
}

// addSizeFlag lets a reading command raise the cap on what it fetches.
func (o *registryOptions) addSizeFlag(cmd *cobra.Command, def int64) {
	cmd.Flags().Int64Var(&o.maxBytes, "max-artifact-size", def, "largest signature/attestation blob to read, in bytes (larger ones are refused unread)")
}

// addEmbedFlag lets a command that attaches bundles leave them out of
// their referrer manifests.
func (o *registryOptions) addEmbedFlag(cmd *cobra.Command) {
	o.embed = cmd.Flags().Bool("embed-bundle", true, fmt.Sprintf(
		"also embed a bundle of up to %d KiB in its referrer manifest (the layer descriptor's data, OCI 1.1), which saves a verifier a request; "+
			"the blob is pushed either way. --embed-bundle=false for a registry that refuses such manifests", oci.DefaultEmbedMax>>10))
}

// addLayoutFlag lets a command that reads oci-layout:DIR images name the
// repository they are copies of.
func (o *registryOptions) addLayoutFlag(cmd *cobra.Command) {
	o.layouts = true
	cmd.Flags().StringVar(&o.layoutRepo, "layout-repository", "",
		"REGISTRY/REPOSITORY that oci-layout:DIR images are copies of: the name policies match them by and signatures record (default: none; a policy then refuses them)")
}

func (o *registryOptions) client(extra ...oci.Option) *oci.Client {
	opts := append([]oci.Option{oci.WithInsecure(o.insecure), oci.WithLayoutDirs(o.layouts), oci.WithLayoutRepository(o.layoutRepo)}, extra...)
	if o.maxBytes > 0 {
		opts = append(opts, oci.WithMaxArtifactBytes(o.maxBytes))
	}
	if o.embed != nil && !*o.embed {
		opts = append(opts, oci.WithEmbeddedBundles(0))
	}
	return oci.New(opts...)
}

// keyLoader returns a key loader that reads passwords from SIGNET_PASSWORD
// (or COSIGN_PASSWORD, for keys made by cosign), else prompts on a terminal.
func keyLoader(s *streams) keys.Loader {
	return keys.Loader{
		Password: func(ref string) ([]byte, error) { return readPassword(s, "Enter password for "+ref+": ", false) },
		Lookup:   os.LookupEnv,
	}
}

// readPassword returns the key password. An empty SIGNET_PASSWORD is a valid
// (empty) password, as with cosign.
func readPassword(s *streams, prompt string, confirm bool) ([]byte, error) {
	for _, v := range []string{"SIGNET_PASSWORD", "COSIGN_PASSWORD"} {
		if p, ok := os.LookupEnv(v); ok {
			return []byte(p), nil
		}
	}
	f, ok := s.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("no password: set SIGNET_PASSWORD, or run in a terminal to be prompted")
	}
	pw, err := promptOnce(s.err, f, prompt)
	if err != nil || !confirm {
		return pw, err
	}
	again, err := promptOnce(s.err, f, "Enter password again: ")
	if err != nil {
		return nil, err
	}
	if string(again) != string(pw) {
		return nil, errors.New("passwords do not match")
	}
	return pw, nil
}

func promptOnce(w io.Writer, f *os.File, prompt string) ([]byte, error) {
	fmt.Fprint(w, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("reading password: %w", err)
	}
	return pw, nil
}

// parseAnnotations turns repeated -a key=value flags into a map.
func parseAnnotations(in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("annotation %q is not key=value", kv)}
		}
		out[k] = v
	}
	return out, nil
}

// outputFormat validates --output.
func outputFormat(v string) error {
	switch v {
	case "text", "json":
		return nil
	}
	return usageError{fmt.Errorf("--output must be text or json, not %q", v)}
}

// printJSON writes v as indented JSON, the machine-readable output of every command.
func printJSON(s *streams, v any) error {
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
