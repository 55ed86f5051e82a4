/**
 * Feature names, in the order the forest sees them. Rarities are
 * log((N + 1) / (count + 1)) over the N training rows the spec was fitted on:
 * 0 for a key every row had, log(N + 1) for a key never seen, so unseen
 * processes, destinations, ports and combinations are signal, not errors.
 */
export const TELEMETRY_FEATURES = [
  "bytes_sent_log",
  "bytes_recv_log",
  "sent_recv_ratio_log",
  "bytes_sent_vs_baseline",
  "bytes_recv_vs_baseline",
  "process_rarity",
  "process_path_rarity",
  "process_hash_rarity",
  "parent_process_rarity",
  "user_process_rarity",
  "process_port_rarity",
  "process_dest_rarity",
  "dest_rarity",
  "port_rarity",
  "protocol_rarity",
  "internal_port_rarity",
  "process_hour_rarity",
  "dns_zone_rarity",
  "dest_is_internal",
  "dest_domain_missing",
  "dns_query_length",
  "dns_label_count",
  "dns_subdomain_entropy",
  "dns_max_label_length",
  "rarity_max",
  "rarity_top3_mean",
] as const;
