package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/verify"
)

// logUploadOptions is the flag group of commands that log what they sign.
type logUploadOptions struct {
	signingConfig string
	url           string
	apiVersion    uint32
	none          bool
}

func (o *logUploadOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.signingConfig, "signing-config", "", "Sigstore signing_config.json naming the transparency log (default $SIGNET_HOME/signing_config.json if present)")
	cmd.Flags().StringVar(&o.url, "tlog-url", "", "transparency log URL; overrides the signing config")
	cmd.Flags().Uint32Var(&o.apiVersion, "tlog-api-version", 0, "API version of --tlog-url: 2 (Rekor v2, Signet's log) or 1 (Rekor v1); default: asked of the log")
	cmd.Flags().BoolVar(&o.none, "no-tlog", false, "do not log the signature")
}

// signerOptions returns the signer options for the configured log, and a
// warning to print when nothing is configured.
func (o *logUploadOptions) signerOptions(ctx context.Context, now time.Time) ([]sign.Option, string, error) {
	if o.none {
		return nil, "", nil
	}
	var svc tlog.Service
	var src logSource
	switch {
	case o.url != "":
		svc = tlog.Service{URL: o.url, APIVersion: o.apiVersion}
		src = logSource{url: o.url, flag: "--tlog-url"}
		if svc.APIVersion == 0 {
			v, err := tlog.DetectAPIVersion(ctx, http.DefaultClient, o.url)
			if err != nil {
				return nil, "", &logError{err, src}
			}
			svc.APIVersion = v
		}
	default:
		sc, err := o.config()
		if err != nil {
			return nil, "", err
		}
		src.path, src.flag = o.configPath()
		if sc == nil {
			return nil, "Warning: no transparency log configured (no --tlog-url, --signing-config or $SIGNET_HOME/signing_config.json): the signature is not logged. Run `signet log serve` for a local log, or pass --no-tlog to silence this.", nil
		}
		if svc, err = tlog.SelectService(sc, now); err != nil {
			if errors.Is(err, tlog.ErrNoLog) {
				return nil, "Warning: the signing config names no transparency log: the signature is not logged.", nil
			}
			return nil, "", fmt.Errorf("signing config: %w", err)
		}
	}
	src.url = svc.URL
	w, err := svc.Writer(30 * time.Second)
	if err != nil {
		return nil, "", usageError{err}
	}
	return []sign.Option{sign.WithTransparencyLog(sourcedLog{w, src}), sign.WithDigestLog(sourcedDigestLog{svc, src})}, "", nil
}

// configPath is the signing config in effect and the flag that named it:
// --signing-config, else $SIGNET_HOME/signing_config.json (flag ""), else
// none ("").
func (o *logUploadOptions) configPath() (path, flag string) {
	if o.signingConfig != "" {
		return o.signingConfig, "--signing-config"
	}
	return homeFile(signingConfigFile), ""
}

// config reads the signing config: --signing-config, else
// $SIGNET_HOME/signing_config.json, else none (nil).
func (o *logUploadOptions) config() (*root.SigningConfig, error) {
	path, _ := o.configPath()
	if path == "" {
		return nil, nil
	}
	sc, err := root.NewSigningConfigFromPath(path)
	if err != nil {
		if o.signingConfig == "" {
			return nil, fmt.Errorf("reading signing config %s (read from $SIGNET_HOME by default; fix it, or remove it with signet config unset signing-config): %w", path, err)
		}
		return nil, fmt.Errorf("reading signing config %s: %w", path, err)
	}
	return sc, nil
}

// trustOptions is the flag group of commands that verify log entries.
type trustOptions struct {
	trustedRoot string
	mode        string
	recalls     string            // --recalls: a recall list file
	root        *root.TrustedRoot // set by verifierOptions
	// fromBundle: the trust is a trust bundle's (useBundle): no default
	// from $SIGNET_HOME, no TUF refresh.
	fromBundle bool
	// maxPredicate is --max-predicate-size, when capFlag (addPredicateCapFlag).
	maxPredicate int64
	capFlag      bool
}

func (o *trustOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json listing trusted transparency logs (default $SIGNET_HOME/trusted_root.json if present)")
	cmd.Flags().StringVar(&o.mode, "tlog", "optional", "transparency log entries: required (a verified entry must be present), optional (verify entries from trusted logs), skip")
	cmd.Flags().StringVar(&o.recalls, "recalls", "", "recall list (signet.dev/v1alpha1 RecallList): recalled digests are refused (class revoked; exit 7 where the verdict sets the exit code); "+
		"signatures by revoked keys count only when a trusted time places them before the revocation")
}

// recallList reads --recalls afresh (nil without it), so a reloaded
// policy engine sees the list as it is now.
func (o *trustOptions) recallList() (*policy.Recalls, error) {
	if o.recalls == "" {
		return nil, nil
	}
	return policy.LoadRecalls(o.recalls)
}

func (o *trustOptions) verifierOptions() ([]verify.Option, verify.TlogMode, error) {
	o.root = nil
	mode, err := verify.ParseTlogMode(o.mode)
	if err != nil {
		return nil, "", usageError{err}
	}
	if err := o.checkPredicateCap(); err != nil {
		return nil, "", err
	}
	recalls, err := o.recallList()
	if err != nil {
		return nil, "", err
	}
	opts := []verify.Option{verify.WithRecalls(recalls)}
	path := o.trustedRoot
	if path == "" && !o.fromBundle {
		if err := refreshTrust(); err != nil {
			return nil, "", err
		}
		path = homeFile(trustedRootFile)
	}
	if path == "" {
		return opts, mode, nil
	}
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, "", fmt.Errorf("reading trusted root %s: %w", path, err)
	}
	o.root = tr
	return append(opts, verify.WithTrustedRoot(tr)), mode, nil
}
