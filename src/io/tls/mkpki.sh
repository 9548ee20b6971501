set -e
# CA (EC), server leaf for localhost, per-IP leaf, RSA/Ed25519 leaves,
# client CA, client certs (good, revoked), foreign CA client, CRL.
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name
  ec $1.key
  openssl req -x509 -new -key $1.key -subj "/CN=$1" -days 30 -out $1.pem 2>/dev/null
}
leaf() { # name keyfile ca subj extra
  openssl req -new -key $2 -subj "$4" -addext "subjectAltName=DNS:localhost" -addext "$5" -out $1.csr 2>/dev/null
  openssl x509 -req -in $1.csr -CA $3.pem -CAkey $3.key -CAcreateserial -days 30 -copy_extensions copy -out $1.crt 2>/dev/null
}
ca ca
ec srv.key; leaf srv srv.key ca "/CN=localhost" "extendedKeyUsage=serverAuth"
ec ip.key;  leaf ip ip.key ca "/CN=ip-specific" "extendedKeyUsage=serverAuth"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null; leaf rsa rsa.key ca "/CN=localhost" "extendedKeyUsage=serverAuth"
openssl genpkey -algorithm ED25519 -out ed.key; leaf ed ed.key ca "/CN=localhost" "extendedKeyUsage=serverAuth"
ec other.key
openssl pkey -in srv.key -aes256 -passout pass:secret -out enc.key
ca cca
ec alice.key; leaf alice alice.key cca "/C=DE/O=Example, Inc/CN=alice" "extendedKeyUsage=clientAuth"
ec mallory.key; leaf mallory mallory.key cca "/CN=mallory" "extendedKeyUsage=clientAuth"
ca fca
ec eve.key; leaf eve eve.key fca "/CN=eve" "extendedKeyUsage=clientAuth"
ca nocrl
ec bob.key; leaf bob bob.key nocrl "/CN=bob" "extendedKeyUsage=clientAuth"
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n' > ca.cnf
: > index.txt; echo 01 > crlnumber
openssl ca -config ca.cnf -keyfile cca.key -cert cca.pem -revoke mallory.crt 2>/dev/null
openssl ca -config ca.cnf -keyfile cca.key -cert cca.pem -gencrl -out cca.crl 2>/dev/null
