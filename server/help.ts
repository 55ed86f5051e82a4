/** `npm run server -- --help`: every flag, its environment variable and default. */
export const HELP = `usage: npm run server -- [flags]    (or: node dist/server/main.js [flags] after npm run build)

Scores network events with the Isolation Forest in a model file, over gRPC, gRPC-Web
and Connect on one port. Flags win over environment variables.

  --host H               NETANOMALY_HOST        address to bind (default 127.0.0.1)
  --port P               NETANOMALY_PORT        TCP port, 0 picks a free one (default 50051)
  --model FILE           NETANOMALY_MODEL       model file (default models/default.model.json);
                                                reloaded when it changes and on SIGHUP
  --log-level L          NETANOMALY_LOG_LEVEL   fatal|error|warn|info|debug|trace|silent (default info)
  --threshold T                                 verdict threshold in (0, 1] instead of the model's
  --stats-interval S     NETANOMALY_STATS_INTERVAL  log RSS and event-loop delay every S seconds
  --workers N|auto       NETANOMALY_WORKERS     server processes sharing the port, auto: one per
                                                CPU, within a container's CPU quota (default 1);
                                                connections go round-robin to them, and each
                                                holds its own model and limits
  --no-fast-path                                serve plain gRPC Score/StreamScore through Connect
                                                too; by default our own codec answers them on the
                                                HTTP/2 stream, with the same results and errors
                                                (for comparing the two or ruling the fast path out)
  --dashboard [HOST:]PORT  NETANOMALY_DASHBOARD  serve the live dashboard (a web page and the same
                                                Connect API, same keys) on its own HTTP/1.1 listener;
                                                HOST defaults to 127.0.0.1 (default off)

learning from the stream (off by default; see docs/operations.md):
  --learn                                       keep a bounded sample of recent traffic, retrain in a
                                                worker thread, check and swap the model in; learned
                                                models go to --learn-dir, a restart resumes the newest
  --retrain-every N|Nm|Nh                       every N events, N minutes or N hours (default 60m)
  --learn-dir DIR                               learned and refused models (default <model dir>/learned)
  --guard-hosts K / --guard-minutes T           a flagged pattern (process x destination) is learnable
                                                once seen from K hosts over T minutes (default 3, 30)
  --guard-rate R                                ... and at most R of its events per hour (default 50)
  --benign FILE                                 process_path|destination lines learnable at once
  --drift-warn P / --drift-retrain P            PSI that logs drift / retrains early (default 0.25, 0.5)
  --fit-workers N|auto                          grow each retrain's forest in N more worker threads (auto:
                                                one per core; a seed per tree); default the retrain worker alone

security (see docs/security.md):
  --api-keys-file FILE   (and/or API_KEYS=k1,k2) keys clients send as "authorization: Bearer <key>"
  --auth-all                                    require a key for health and reflection too
  --insecure                                    allow a non-loopback host without keys
  --tls-cert PEM --tls-key PEM [--client-ca PEM]  TLS on the same port; --client-ca requires client certs
  --max-message-bytes N                         largest request message (default 4 MiB)
  --max-streams N                               concurrent HTTP/2 streams per connection (default 100)
  --rate-limit-rps R / --rate-limit-eps R       per-client requests/events per second, counted in
                                                each worker (default off)
  --idle-timeout S                              close HTTP/2 connections idle S seconds (default 60)

metrics and alerts (see docs/operations.md):
  --metrics HOST:PORT    NETANOMALY_METRICS     Prometheus /metrics on its own port (PORT alone:
                                                127.0.0.1); with --workers, the sum of all workers
  --alert-file FILE      NETANOMALY_ALERT_FILE  append each alert as a JSON line
  --alert-webhook URL    NETANOMALY_ALERT_WEBHOOK  POST each alert as JSON, retried with backoff
  --alert-webhook-secret S  NETANOMALY_ALERT_WEBHOOK_SECRET  sign POSTs: x-netanomaly-signature
                                                sha256=HMAC-SHA256(S, body)
  --alert-syslog tcp://H:P|udp://H:P            RFC 5424 syslog (TCP: octet-counted framing)
  --alert-dedup S        NETANOMALY_ALERT_DEDUP  one alert with a count per pattern (source, process,
                                                destination, top features) per S seconds (default 0)
  --suppressions FILE    NETANOMALY_SUPPRESSIONS  JSONL rules silencing matching anomalies (still
                                                scored and counted), reread when it changes; the
                                                Feedback RPC can append to it

signals: SIGTERM/SIGINT drain and exit 0 (deadline 10 s); SIGHUP rereads the model
(with --workers, the supervisor passes both on; a worker that dies is replaced).
exit codes: 0 after a signal, 1 model or port problem (or, with --workers, workers that keep
dying), 2 bad flag.
`;
