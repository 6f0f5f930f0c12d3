package oci

// LegacyLogBundle is the JSON of a legacy layer's dev.sigstore.cosign/bundle
// annotation (AnnotationLegacyBundle), as cosign v2 writes it: a Rekor v1
// entry and the log's signed entry timestamp (SET) over it. It carries no
// inclusion proof. Signet writes it when signing in the legacy layout and
// checks it when verifying one.
type LegacyLogBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           []byte `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}
