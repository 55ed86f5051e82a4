/**
 * The default column order of conn.log (Zeek 5 to 7, no policy scripts
 * adding fields): `Conn::Info` in base/protocols/conn/main.zeek,
 * https://docs.zeek.org/en/current/scripts/base/protocols/conn/main.zeek.html.
 * Used only for TSV rows that come without a `#fields` header.
 */
export const CONN_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "service",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "conn_state",
  "local_orig",
  "local_resp",
  "missed_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
  "tunnel_parents",
] as const;

/**
 * The default column order of dns.log: `DNS::Info` in
 * base/protocols/dns/main.zeek,
 * https://docs.zeek.org/en/current/scripts/base/protocols/dns/main.zeek.html.
 */
export const DNS_FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "trans_id",
  "rtt",
  "query",
  "qclass",
  "qclass_name",
  "qtype",
  "qtype_name",
  "rcode",
  "rcode_name",
  "AA",
  "TC",
  "RD",
  "RA",
  "Z",
  "answers",
  "TTLs",
  "rejected",
] as const;
