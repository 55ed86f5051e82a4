// Command score scores network events against a netanomaly server over gRPC.
//
// It calls ScoringService.Score on one event (built in, or shaped by flags),
// then opens one ScoringService.StreamScore stream and sends two batches: a
// normal event next to an invalid one (dest_port 70000), and an
// exfiltration-like event. It prints one line per result, or one JSON object
// per line with -json (the same objects as clients/python/score.py).
//
// It exits 1 with the gRPC status code name (for example `unavailable`) on
// stderr when an RPC fails, and 2 on usage errors.
//
//	go run ./cmd/score -target 127.0.0.1:50051
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	netanomalyv1 "github.com/netanomaly/netanomaly/clients/go/gen/netanomaly/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// exampleTime is one fixed instant, so the built-in events never change.
var exampleTime = time.Date(2024, 12, 2, 9, 30, 0, 0, time.UTC)

type options struct {
	target, apiKey, tlsCA, tlsCert, tlsKey    string
	timeout                                   time.Duration
	json                                      bool
	processPath, destIP, destDomain, protocol string
	destPort                                  uint
	bytesSent, bytesRecv                      uint64
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.target, "target", "127.0.0.1:50051", "host:port of the server")
	flag.StringVar(&o.apiKey, "api-key", "", "sent as 'authorization: Bearer <key>' metadata")
	flag.StringVar(&o.tlsCA, "tls-ca", "", "PEM file of the CA that signed the server's certificate; enables TLS")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "PEM client certificate for mutual TLS (with -tls-key and -tls-ca)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of -tls-cert")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline per RPC")
	flag.BoolVar(&o.json, "json", false, "print one JSON object per result")
	flag.StringVar(&o.processPath, "process-path", `C:\Windows\System32\svchost.exe`, "process_path of the example event")
	flag.StringVar(&o.destIP, "dest-ip", "168.61.215.74", "dest_ip of the example event")
	flag.StringVar(&o.destDomain, "dest-domain", "time.windows.com", "dest_domain of the example event")
	flag.UintVar(&o.destPort, "dest-port", 123, "dest_port of the example event")
	flag.Uint64Var(&o.bytesSent, "bytes-sent", 49, "bytes_sent of the example event")
	flag.Uint64Var(&o.bytesRecv, "bytes-recv", 48, "bytes_recv of the example event")
	flag.StringVar(&o.protocol, "protocol", "UDP", "protocol of the example event")
	flag.Parse()
	if (o.tlsCert == "") != (o.tlsKey == "") || (o.tlsCert != "" && o.tlsCA == "") {
		fmt.Fprintln(os.Stderr, "score: -tls-cert and -tls-key go together, and need -tls-ca")
		os.Exit(2)
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "score: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	return o
}

// exampleEvent is the event of the unary Score call, shaped by the flags.
func exampleEvent(o options) *netanomalyv1.NetworkEvent {
	return &netanomalyv1.NetworkEvent{
		Timestamp:     timestamppb.New(exampleTime),
		ProcessPath:   o.processPath,
		ProcessHash:   "a343f3f6e554",
		SourceIp:      "192.168.1.5",
		DestIp:        o.destIP,
		DestDomain:    o.destDomain,
		DestPort:      uint32(o.destPort),
		BytesSent:     o.bytesSent,
		BytesRecv:     o.bytesRecv,
		Protocol:      o.protocol,
		DnsQuery:      o.destDomain,
		ParentProcess: "services.exe",
		UserContext:   "SYSTEM",
	}
}

// streamBatches are the two StreamScore batches; "batch-1"[1] is invalid.
func streamBatches(o options) []*netanomalyv1.StreamScoreRequest {
	invalid := exampleEvent(o)
	invalid.DestPort = 70000
	exfil := &netanomalyv1.NetworkEvent{
		Timestamp:     timestamppb.New(exampleTime),
		ProcessPath:   `C:\Users\Public\updater.exe`,
		ProcessHash:   "ffffffffffff",
		SourceIp:      "192.168.1.23",
		DestIp:        "203.0.113.66",
		DestDomain:    "cdn-sync.example",
		DestPort:      4444,
		BytesSent:     2_500_000_000,
		BytesRecv:     1200,
		Protocol:      "TCP",
		ParentProcess: "powershell.exe",
		UserContext:   "User",
	}
	return []*netanomalyv1.StreamScoreRequest{
		{RequestId: "batch-1", Events: []*netanomalyv1.NetworkEvent{exampleEvent(o), invalid}},
		{RequestId: "batch-2", Events: []*netanomalyv1.NetworkEvent{exfil}},
	}
}

// verdictName turns VERDICT_ANOMALOUS into "anomalous".
func verdictName(v netanomalyv1.Verdict) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "VERDICT_"))
}

// codeName spells a status code the wire way: "invalid_argument".
func codeName(c codes.Code) string {
	// codes.Code.String() is CamelCase ("InvalidArgument"); add underscores.
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

func transportCredentials(o options) (credentials.TransportCredentials, error) {
	if o.tlsCA == "" {
		return insecure.NewCredentials(), nil
	}
	pem, err := os.ReadFile(o.tlsCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", o.tlsCA)
	}
	config := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if o.tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, err
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(config), nil
}

type printer struct{ json bool }

func (p printer) emit(record map[string]any, text string) {
	if p.json {
		line, _ := json.Marshal(record) // maps marshal with sorted keys
		fmt.Println(string(line))
		return
	}
	fmt.Println(text)
}

func run(o options) error {
	creds, err := transportCredentials(o)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(o.target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := netanomalyv1.NewScoringServiceClient(conn)
	out := printer{json: o.json}
	base := context.Background()
	if o.apiKey != "" {
		base = metadata.AppendToOutgoingContext(base, "authorization", "Bearer "+o.apiKey)
	}

	ctx, cancel := context.WithTimeout(base, o.timeout)
	defer cancel()
	res, err := client.Score(ctx, &netanomalyv1.ScoreRequest{Event: exampleEvent(o)})
	if err != nil {
		return err
	}
	verdict := verdictName(res.GetVerdict())
	out.emit(map[string]any{
		"rpc": "Score", "score": res.GetScore(), "verdict": verdict,
		"threshold": res.GetThreshold(), "modelVersion": res.GetModelVersion(),
	}, fmt.Sprintf("Score: score=%.4f verdict=%s threshold=%.4f model=%s",
		res.GetScore(), verdict, res.GetThreshold(), res.GetModelVersion()))

	sctx, scancel := context.WithTimeout(base, o.timeout)
	defer scancel()
	stream, err := client.StreamScore(sctx)
	if err != nil {
		return err
	}
	for _, req := range streamBatches(o) {
		if err := stream.Send(req); err != nil {
			break // the server ended the stream; Recv reports why
		}
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i, result := range res.GetResults() {
			where := fmt.Sprintf("StreamScore %s[%d]", res.GetRequestId(), i)
			record := map[string]any{"rpc": "StreamScore", "requestId": res.GetRequestId(), "index": i}
			if e := result.GetError(); e != nil {
				record["error"] = map[string]any{"code": e.GetCode(), "field": e.GetField(), "message": e.GetMessage()}
				out.emit(record, fmt.Sprintf("%s: error %s (%s): %s", where, e.GetCode(), e.GetField(), e.GetMessage()))
				continue
			}
			s := result.GetScore()
			record["score"] = s.GetScore()
			record["verdict"] = verdictName(s.GetVerdict())
			out.emit(record, fmt.Sprintf("%s: score=%.4f verdict=%s", where, s.GetScore(), verdictName(s.GetVerdict())))
		}
	}
}

func main() {
	o := parseFlags()
	if err := run(o); err != nil {
		if s, ok := status.FromError(err); ok {
			fmt.Fprintf(os.Stderr, "score: rpc failed: %s: %s\n", codeName(s.Code()), s.Message())
		} else {
			fmt.Fprintf(os.Stderr, "score: %v\n", err)
		}
		os.Exit(1)
	}
}
