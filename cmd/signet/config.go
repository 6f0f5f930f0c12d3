package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/trust"
)

// setting is one file, directory or environment variable that changes what
// Signet does, and where its value came from.
type setting struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`            // env, file or dir
	Value  string `json:"value,omitempty"` // a path, or "(set)" for a secret
	Source string `json:"source"`          // env, default, file, absent or unset
	Note   string `json:"note,omitempty"`  // what it does now
}

func newConfigCmd(s *streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "config",
		Aliases: []string{"env"},
		Short:   "Show the files and environment variables in effect, and where each came from",
		Long: `Show every file and environment variable that changes what Signet does:
SIGNET_HOME and the files in it (the signing config and trusted root that
'signet log serve' and 'signet trust init' write, the TUF setup, the local
log's state, the rollback state of signed tag heads, the gate's state), key
passwords and identity tokens (whether they are set, never their values) and
where registry credentials come from. Each says where its value came from:
env (an environment variable), default, file (present), absent or unset.

'signet config unset' removes the files that send signatures to a log or
choose which logs verify trusts.`,
		Example: `  signet config
  signet config -o json
  signet config unset signing-config trusted-root`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			all := settings()
			if output == "json" {
				return printJSON(s, all)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVALUE\tFROM\tNOTE")
			for _, st := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, dash(st.Value), st.Source, st.Note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.AddCommand(newConfigUnsetCmd(s))
	return cmd
}

// unsettable are the home files `signet config unset` removes.
var unsettable = map[string]string{
	"signing-config": signingConfigFile,
	"trusted-root":   trustedRootFile,
	"tuf":            "tuf",
}

func newConfigUnsetCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "unset signing-config|trusted-root|tuf...",
		Short: "Remove files from SIGNET_HOME: the signing config, the trusted root, the TUF setup",
		Long: `Remove files Signet reads by default from SIGNET_HOME:

  signing-config  signing_config.json: sign and attest stop logging by default
  trusted-root    trusted_root.json: verify stops trusting its logs by default
  tuf             tuf/: verify stops refreshing trusted_root.json over TUF`,
		Args:      args(cobra.ArbitraryArgs),
		ValidArgs: []string{"signing-config", "trusted-root", "tuf"},
		RunE: func(cmd *cobra.Command, names []string) error {
			if len(names) == 0 {
				return usageError{errors.New("name what to unset: signing-config, trusted-root or tuf")}
			}
			for _, n := range names {
				if _, ok := unsettable[n]; !ok {
					return usageError{fmt.Errorf("cannot unset %q: name signing-config, trusted-root or tuf", n)}
				}
			}
			for _, n := range names {
				p := filepath.Join(signetHome(), unsettable[n])
				if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
					fmt.Fprintf(s.out, "%s was not there\n", p)
					continue
				}
				if err := os.RemoveAll(p); err != nil {
					return err
				}
				fmt.Fprintf(s.out, "Removed %s\n", p)
			}
			if slices.Contains(names, "trusted-root") && !slices.Contains(names, "tuf") && exists(filepath.Join(signetHome(), "tuf", "config.json")) {
				fmt.Fprintln(s.err, "Note: 'signet trust init' set up TUF here, so verify fetches trusted_root.json again; unset tuf too to stop that.")
			}
			return nil
		},
	}
}

// settings lists what is in effect now.
func settings() []setting {
	home := signetHome()
	src := "default"
	if os.Getenv("SIGNET_HOME") != "" {
		src = "env"
	}
	out := []setting{{Name: "SIGNET_HOME", Kind: "env", Value: home, Source: src, Note: "where Signet keeps the files below (default ~/.signet)"}}
	out = append(out, signingConfigSetting(), trustedRootSetting(), tufSetting(), logDirSetting(),
		dirSetting("tag-heads", "rollback state of signed tag heads (verify --policy with tags.signedHeads, signet tag verify --root)"),
		dirSetting("gate", "state of signet gate (its default --state)"))
	for _, e := range []struct{ name, note string }{
		{"SIGNET_PASSWORD", "password of encrypted private keys (else COSIGN_PASSWORD, else a prompt on a terminal)"},
		{"COSIGN_PASSWORD", "password of encrypted private keys, when SIGNET_PASSWORD is not set"},
		{"SIGSTORE_ID_TOKEN", "keyless signing: the OIDC identity token, unless --identity-token is given"},
		{"ACTIONS_ID_TOKEN_REQUEST_URL", "keyless signing: GitHub Actions' token endpoint"},
		{"SIGNET_GATE_SECRET", "signet gate: the registry's shared secret (the default --secret-env)"},
		{"SIGNET_GATE_STATUS_TOKEN", "signet gate: the token of /status and /metrics (the default --status-token-env)"},
	} {
		out = append(out, secretSetting(e.name, e.note))
	}
	nc := setting{Name: "NO_COLOR", Kind: "env", Source: "unset", Note: "inspect prints colour on a terminal"}
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		nc.Source, nc.Value, nc.Note = "env", os.Getenv("NO_COLOR"), "inspect prints no colour"
	}
	return append(out, nc, dockerConfigSetting(), registryCredentialsSetting())
}

func signingConfigSetting() setting {
	p := filepath.Join(signetHome(), signingConfigFile)
	st := setting{Name: signingConfigFile, Kind: "file", Value: p, Source: "absent",
		Note: "sign and attest log nowhere unless given --tlog-url or --signing-config ('signet log serve' and 'signet trust init' write this file)"}
	if !exists(p) {
		return st
	}
	st.Source = "file"
	sc, err := root.NewSigningConfigFromPath(p)
	if err != nil {
		st.Note = fmt.Sprintf("cannot be read, so sign and attest fail until it is fixed or removed: %v", err)
		return st
	}
	var urls []string
	for _, svc := range sc.RekorLogURLs() {
		urls = append(urls, svc.URL)
	}
	if len(urls) == 0 {
		st.Note = "names no transparency log; " + writtenBy(p, nil)
		return st
	}
	st.Note = fmt.Sprintf("sign and attest log to %s unless given --tlog-url, --signing-config or --no-tlog; %s", strings.Join(urls, ", "), writtenBy(p, urls))
	return st
}

func trustedRootSetting() setting {
	p := filepath.Join(signetHome(), trustedRootFile)
	st := setting{Name: trustedRootFile, Kind: "file", Value: p, Source: "absent",
		Note: "verify trusts no transparency log unless given --trusted-root ('signet log serve' and 'signet trust init' write this file)"}
	if !exists(p) {
		return st
	}
	st.Source = "file"
	tr, err := root.NewTrustedRootFromPath(p)
	if err != nil {
		st.Note = fmt.Sprintf("cannot be read, so verify fails until it is fixed or removed: %v", err)
		return st
	}
	var urls []string
	for _, l := range tr.RekorLogs() {
		urls = append(urls, l.BaseURL)
	}
	slices.Sort(urls)
	st.Note = fmt.Sprintf("verify trusts entries of %d transparency log(s) %s and %d certificate authorities unless given --trusted-root; %s",
		len(urls), strings.Join(urls, ", "), len(tr.FulcioCertificateAuthorities()), writtenBy(p, urls))
	return st
}

func tufSetting() setting {
	p := filepath.Join(signetHome(), "tuf")
	st := setting{Name: "tuf/", Kind: "dir", Value: p, Source: "absent", Note: "no TUF repository ('signet trust init' sets one up)"}
	if !exists(p) {
		return st
	}
	st.Source = "file"
	st.Note = "TUF cache; no repository configured"
	if mirror, err := tufMirror(); err == nil && mirror != "" {
		st.Note = fmt.Sprintf("verify refreshes %s from the TUF repository %s ('signet trust init')", trustedRootFile, mirror)
	}
	return st
}

func logDirSetting() setting {
	st := dirSetting("log", "state of 'signet log serve' (its key, entries and checkpoint)")
	if info, err := tlog.LoadInfo(st.Value); err == nil {
		st.Note += fmt.Sprintf(": log %q, last served at %s", info.Origin, info.URL)
	}
	return st
}

func dirSetting(name, note string) setting {
	p := filepath.Join(signetHome(), name)
	st := setting{Name: name + "/", Kind: "dir", Value: p, Source: "absent", Note: note}
	if exists(p) {
		st.Source = "file"
	}
	return st
}

// secretSetting says whether a secret variable is set, never its value.
func secretSetting(name, note string) setting {
	st := setting{Name: name, Kind: "env", Source: "unset", Note: note}
	if _, ok := os.LookupEnv(name); ok {
		st.Source, st.Value = "env", "(set; value not shown)"
	}
	return st
}

func dockerConfigSetting() setting {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return setting{Name: "DOCKER_CONFIG", Kind: "env", Value: d, Source: "env", Note: "directory of the Docker config.json holding registry credentials"}
	}
	st := setting{Name: "DOCKER_CONFIG", Kind: "env", Source: "default", Note: "directory of the Docker config.json holding registry credentials"}
	if home, err := os.UserHomeDir(); err == nil {
		st.Value = filepath.Join(home, ".docker")
	}
	return st
}

// registryCredentialsSetting finds the file registry credentials come from,
// as go-containerregistry's default keychain does: Docker's config.json
// (~/.docker, or $DOCKER_CONFIG), else $REGISTRY_AUTH_FILE, else Podman's
// containers/auth.json; else none (anonymous).
func registryCredentialsSetting() setting {
	st := setting{Name: "registry credentials", Kind: "file", Source: "absent", Note: "none found: registries are accessed anonymously"}
	home, _ := os.UserHomeDir()
	dc := os.Getenv("DOCKER_CONFIG")
	if (home != "" && exists(filepath.Join(home, ".docker", "config.json"))) || (dc != "" && exists(filepath.Join(dc, "config.json"))) {
		st.Source, st.Note = "file", "Docker's config.json (and the credential helpers it names)"
		if dc != "" {
			st.Value = filepath.Join(dc, "config.json")
			st.Note += ", from DOCKER_CONFIG"
		} else {
			st.Value = filepath.Join(home, ".docker", "config.json")
		}
		return st
	}
	if p := os.Getenv("REGISTRY_AUTH_FILE"); p != "" && exists(p) {
		st.Value, st.Source, st.Note = p, "env", "from REGISTRY_AUTH_FILE"
		return st
	}
	for _, d := range []string{os.Getenv("XDG_RUNTIME_DIR"), os.Getenv("XDG_CONFIG_HOME"), filepath.Join(home, ".config")} {
		if p := filepath.Join(d, "containers", "auth.json"); d != "" && exists(p) {
			st.Value, st.Source, st.Note = p, "file", "Podman's auth.json"
			return st
		}
	}
	return st
}

// writtenBy says when a trust file in SIGNET_HOME was written and, where it
// can tell, by what: the local log's `signet log serve` when the file names
// that log's URL, `signet trust init` when TUF is set up.
func writtenBy(path string, urls []string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	when := fi.ModTime().Format("2006-01-02 15:04:05 MST")
	if info, err := tlog.LoadInfo(defaultLogDir()); err == nil && slices.Contains(urls, info.URL) {
		return fmt.Sprintf("written %s by 'signet log serve' for its local log (state in %s)", when, defaultLogDir())
	}
	if exists(filepath.Join(signetHome(), "tuf", "config.json")) {
		return fmt.Sprintf("written %s by 'signet trust init' (refreshed over TUF)", when)
	}
	return "written " + when
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tufMirror returns the TUF repository `signet trust init` set up, if any.
func tufMirror() (string, error) {
	b, err := os.ReadFile(filepath.Join(signetHome(), "tuf", "config.json"))
	if err != nil {
		return "", err
	}
	var cfg trust.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", err
	}
	return cfg.Mirror, nil
}

// dash shows an empty value as "-" in a table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
