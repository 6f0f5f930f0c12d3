package main

import (
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/verify"
)

// identityOptions is the flag group naming a trusted keyless signer, as
// cosign's --certificate-* flags do.
type identityOptions struct {
	id verify.Identity
}

func (o *identityOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.id.Subject, "certificate-identity", "", "keyless: the signer's identity (certificate SAN: email, URI), exact")
	f.StringVar(&o.id.SubjectRegExp, "certificate-identity-regexp", "", "keyless: the signer's identity, as a regular expression")
	f.StringVar(&o.id.Issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer that vouched for it, exact")
	f.StringVar(&o.id.IssuerRegExp, "certificate-oidc-issuer-regexp", "", "keyless: the OIDC issuer, as a regular expression")
	f.StringVar(&o.id.GitHubWorkflowRepository, "certificate-github-workflow-repository", "", "keyless: pin the GitHub workflow repository (owner/repo)")
	f.StringVar(&o.id.GitHubWorkflowRef, "certificate-github-workflow-ref", "", "keyless: pin the GitHub workflow ref (refs/heads/main)")
	f.StringVar(&o.id.GitHubWorkflowTrigger, "certificate-github-workflow-trigger", "", "keyless: pin the GitHub workflow trigger (push, release, ...)")
	f.StringVar(&o.id.GitHubWorkflowSHA, "certificate-github-workflow-sha", "", "keyless: pin the GitHub workflow commit SHA")
	f.StringVar(&o.id.GitHubWorkflowName, "certificate-github-workflow-name", "", "keyless: pin the GitHub workflow name")
}

// identities returns the identity the flags name, if any.
func (o *identityOptions) identities() ([]verify.Identity, error) {
	id := o.id
	if id.Subject == "" && id.SubjectRegExp == "" && id.Issuer == "" && id.IssuerRegExp == "" {
		return nil, nil
	}
	if (id.Subject == "") == (id.SubjectRegExp == "") || (id.Issuer == "") == (id.IssuerRegExp == "") {
		return nil, usageError{errUsage("keyless verification needs one of --certificate-identity(-regexp) and one of --certificate-oidc-issuer(-regexp)")}
	}
	id.Name = id.Subject
	if id.Name == "" {
		id.Name = "~" + id.SubjectRegExp
	}
	return []verify.Identity{id}, nil
}

type errUsage string

func (e errUsage) Error() string { return string(e) }
