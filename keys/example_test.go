package keys_test

import (
	"fmt"

	"github.com/signet-dev/signet/keys"
)

// Generate a key, encrypt it as cosign does, and load it back.
func Example() {
	priv, _ := keys.Generate(keys.ED25519)
	pemBytes, _ := keys.EncryptPrivateKey(priv, []byte("correct horse"))

	_, err := keys.ParsePrivateKey(pemBytes, []byte("battery staple"))
	fmt.Println(err)
	loaded, _ := keys.ParsePrivateKey(pemBytes, []byte("correct horse"))
	a, _ := keys.ID(priv.Public())
	b, _ := keys.ID(loaded.Public())
	fmt.Println(a == b)
	// Output:
	// wrong password for encrypted private key
	// true
}
