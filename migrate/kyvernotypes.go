package migrate

import "go.yaml.in/yaml/v3"

// The Kyverno ClusterPolicy and Policy fields the importer reads
// (kyverno.io/v1 and v2beta1 share them). Fields held as yaml.Node are
// read as a whole or only looked at; a field not listed here is reported.

type kyPolicy struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   objMeta `yaml:"metadata"`
	Spec       kySpec  `yaml:"spec"`
}

type objMeta struct {
	Name      string         `yaml:"name"`
	Namespace string         `yaml:"namespace"`
	Rest      map[string]any `yaml:",inline"`
}

type kySpec struct {
	ValidationFailureAction          string       `yaml:"validationFailureAction"`
	ValidationFailureActionOverrides []kyOverride `yaml:"validationFailureActionOverrides"`
	FailurePolicy                    string       `yaml:"failurePolicy"`
	Rules                            []kyRule     `yaml:"rules"`
	ApplyRules                       string       `yaml:"applyRules"`
	// Fields about Kyverno's own operation, with no bearing on a verdict.
	Background                     yaml.Node `yaml:"background"`
	WebhookTimeoutSeconds          yaml.Node `yaml:"webhookTimeoutSeconds"`
	WebhookConfiguration           yaml.Node `yaml:"webhookConfiguration"`
	Admission                      yaml.Node `yaml:"admission"`
	EmitWarning                    yaml.Node `yaml:"emitWarning"`
	SchemaValidation               yaml.Node `yaml:"schemaValidation"`
	UseServerSideApply             yaml.Node `yaml:"useServerSideApply"`
	MutateExistingOnPolicyUpdate   yaml.Node `yaml:"mutateExistingOnPolicyUpdate"`
	GenerateExisting               yaml.Node `yaml:"generateExisting"`
	GenerateExistingOnPolicyUpdate yaml.Node `yaml:"generateExistingOnPolicyUpdate"`
}

type kyOverride struct {
	Action            string    `yaml:"action"`
	Namespaces        []string  `yaml:"namespaces"`
	NamespaceSelector yaml.Node `yaml:"namespaceSelector"`
}

type kyRule struct {
	Name             string     `yaml:"name"`
	Match            yaml.Node  `yaml:"match"`
	Exclude          yaml.Node  `yaml:"exclude"`
	Preconditions    yaml.Node  `yaml:"preconditions"`
	CELPreconditions yaml.Node  `yaml:"celPreconditions"`
	Context          yaml.Node  `yaml:"context"`
	ImageExtractors  yaml.Node  `yaml:"imageExtractors"`
	VerifyImages     []kyVerify `yaml:"verifyImages"`
	Validate         yaml.Node  `yaml:"validate"`
	Mutate           yaml.Node  `yaml:"mutate"`
	Generate         yaml.Node  `yaml:"generate"`
	// Fields about Kyverno's own operation.
	SkipBackgroundRequests yaml.Node `yaml:"skipBackgroundRequests"`
	ReportProperties       yaml.Node `yaml:"reportProperties"`
}

type kyVerify struct {
	FailureAction        string            `yaml:"failureAction"`
	Type                 string            `yaml:"type"`
	Image                string            `yaml:"image"`
	ImageReferences      []string          `yaml:"imageReferences"`
	SkipImageReferences  []string          `yaml:"skipImageReferences"`
	Key                  string            `yaml:"key"`
	Roots                string            `yaml:"roots"`
	Subject              string            `yaml:"subject"`
	Issuer               string            `yaml:"issuer"`
	AdditionalExtensions map[string]string `yaml:"additionalExtensions"`
	Attestors            []kyAttestorSet   `yaml:"attestors"`
	Attestations         []kyAttestation   `yaml:"attestations"`
	Annotations          map[string]string `yaml:"annotations"`
	Repository           string            `yaml:"repository"`
	CosignOCI11          bool              `yaml:"cosignOCI11"`
	MutateDigest         *bool             `yaml:"mutateDigest"`
	VerifyDigest         *bool             `yaml:"verifyDigest"`
	Validate             yaml.Node         `yaml:"validate"`
	Required             *bool             `yaml:"required"`
	// Fields about Kyverno's own operation.
	ImageRegistryCredentials yaml.Node `yaml:"imageRegistryCredentials"`
	UseCache                 yaml.Node `yaml:"useCache"`
}

type kyAttestorSet struct {
	Count   *int         `yaml:"count"`
	Entries []kyAttestor `yaml:"entries"`
}

type kyAttestor struct {
	Keys               *kyKeys           `yaml:"keys"`
	Certificates       *kyCertificates   `yaml:"certificates"`
	Keyless            *kyKeyless        `yaml:"keyless"`
	Attestor           yaml.Node         `yaml:"attestor"`
	Annotations        map[string]string `yaml:"annotations"`
	Repository         string            `yaml:"repository"`
	SignatureAlgorithm string            `yaml:"signatureAlgorithm"`
}

type kyKeys struct {
	PublicKeys         string    `yaml:"publicKeys"`
	SignatureAlgorithm string    `yaml:"signatureAlgorithm"`
	KMS                string    `yaml:"kms"`
	Secret             *kySecret `yaml:"secret"`
	Rekor              *kyRekor  `yaml:"rekor"`
	CTLog              *kyCTLog  `yaml:"ctlog"`
}

type kySecret struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace"`
}

type kyCertificates struct {
	Cert      string   `yaml:"cert"`
	CertChain string   `yaml:"certChain"`
	Rekor     *kyRekor `yaml:"rekor"`
	CTLog     *kyCTLog `yaml:"ctlog"`
}

type kyKeyless struct {
	Rekor                *kyRekor          `yaml:"rekor"`
	CTLog                *kyCTLog          `yaml:"ctlog"`
	Issuer               string            `yaml:"issuer"`
	IssuerRegExp         string            `yaml:"issuerRegExp"`
	Subject              string            `yaml:"subject"`
	SubjectRegExp        string            `yaml:"subjectRegExp"`
	Roots                string            `yaml:"roots"`
	AdditionalExtensions map[string]string `yaml:"additionalExtensions"`
}

type kyRekor struct {
	URL        string `yaml:"url"`
	PubKey     string `yaml:"pubkey"`
	IgnoreTlog bool   `yaml:"ignoreTlog"`
}

type kyCTLog struct {
	IgnoreSCT    bool   `yaml:"ignoreSCT"`
	PubKey       string `yaml:"pubkey"`
	TSACertChain string `yaml:"tsaCertChain"`
}

type kyAttestation struct {
	Name          string          `yaml:"name"`
	PredicateType string          `yaml:"predicateType"`
	Type          string          `yaml:"type"`
	Attestors     []kyAttestorSet `yaml:"attestors"`
	Conditions    yaml.Node       `yaml:"conditions"`
}

type kyAnyAll struct {
	Any []kyCondition `yaml:"any"`
	All []kyCondition `yaml:"all"`
}

type kyCondition struct {
	Key      any    `yaml:"key"`
	Operator string `yaml:"operator"`
	Value    any    `yaml:"value"`
	Message  string `yaml:"message"`
}
