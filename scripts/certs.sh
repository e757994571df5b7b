# Sourced by the throwaway servers' scripts (ldap-server, pg-server).
#
# make_certs DIR: writes into DIR a throwaway CA (ca.pem, ca.key) and a server certificate it
# signed for IP 127.0.0.1 and DNS localhost (server.pem, server.key; rustls refuses a CA
# certificate as the server's), valid two days. Needs openssl; fails (non-zero) if it is
# missing or any step fails.
make_certs() {
  local dir="$1"
  command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=scimd test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      >/dev/null 2>&1 &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
      -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
      >"$dir/server.ext" &&
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" >/dev/null 2>&1 &&
    chmod 644 "$dir/server.key"
}
