/**
 * Generated sensor logs for the log-reader benchmark, in each reader's
 * format, deterministic (no randomness: a counter drives every value).
 * Shapes follow the fixtures in `sources/testdata/`.
 */

const CONN_HEADER = [
  "#separator \\x09",
  "#set_separator\t,",
  "#empty_field\t(empty)",
  "#unset_field\t-",
  "#path\tconn",
  "#open\t2023-11-14-22-13-20",
  "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents",
  "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]",
];

const T0 = 1_700_000_000;

function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

function remote(i: number): string {
  return `198.51.${(i * 7) & 255}.${(i * 13) & 255}`;
}

function iso(sec: number): string {
  return new Date(sec * 1000).toISOString().replace("Z", "+0000");
}

/** Zeek conn.log TSV: the header, then `n` records (1 in 10 a DNS conn, 1 in 20 with unset bytes). */
export function connLogLines(n: number): string[] {
  const out = [...CONN_HEADER];
  for (let i = 0; i < n; i++) {
    const dns = i % 10 === 0;
    const unset = i % 20 === 7;
    out.push(
      [
        (T0 + i * 0.01).toFixed(6),
        `C${i.toString(36).padStart(17, "x")}`,
        ip(i % 500),
        String(40000 + (i % 20000)),
        dns ? "10.0.0.53" : remote(i),
        dns ? "53" : String([443, 80, 22, 8443][i % 4]),
        dns ? "udp" : "tcp",
        dns ? "dns" : "ssl",
        "0.123456",
        unset ? "-" : String(100 + (i % 5000)),
        unset ? "-" : String(2000 + (i % 90000)),
        "SF",
        "T",
        "F",
        "0",
        "ShADadFf",
        "10",
        "1200",
        "12",
        "9000",
        "(empty)",
      ].join("\t"),
    );
  }
  out.push("#close\t2023-11-14-23-00-00");
  return out;
}

/**
 * Suricata EVE: `n` events, of every 10: 2 dns (query and answer), 1 tls,
 * then 7 flows (6 TLS flows, the first named by the tls event, and the DNS flow).
 */
export function eveLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    const flowId = 1_000_000_000_000 + Math.floor(i / 10) * 10 + k;
    const ts = iso(T0 + i * 0.01);
    if (k === 0 || k === 1) {
      const dnsFlow = 1_000_000_000_000 + Math.floor(i / 10) * 10 + 9;
      out.push(
        k === 0
          ? `{"timestamp":"${ts}","flow_id":${dnsFlow},"in_iface":"eth0","event_type":"dns","src_ip":"${ip(i % 500)}","src_port":53001,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","id":${i & 65535},"rrname":"host${i % 300}.example.com","rrtype":"A","tx_id":0,"opcode":0}}`
          : `{"timestamp":"${ts}","flow_id":${dnsFlow},"in_iface":"eth0","event_type":"dns","src_ip":"10.0.0.53","src_port":53,"dest_ip":"${ip(i % 500)}","dest_port":53001,"proto":"UDP","dns":{"version":2,"type":"answer","id":${i & 65535},"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rrname":"host${i % 300}.example.com","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"host${i % 300}.example.com","rrtype":"A","ttl":60,"rdata":"${remote(i)}"}]}}`,
      );
    } else if (k === 2) {
      out.push(
        `{"timestamp":"${ts}","flow_id":${flowId + 1},"in_iface":"eth0","event_type":"tls","src_ip":"${ip(i % 500)}","src_port":50100,"dest_ip":"${remote(i)}","dest_port":443,"proto":"TCP","tls":{"subject":"CN=svc${i % 100}.example.com","sni":"svc${i % 100}.example.com","version":"TLS 1.3"}}`,
      );
    } else {
      const dns = k === 9;
      out.push(
        `{"timestamp":"${ts}","flow_id":${flowId},"in_iface":"eth0","event_type":"flow","src_ip":"${ip(i % 500)}","src_port":${40000 + (i % 20000)},"dest_ip":"${dns ? "10.0.0.53" : remote(i - k + 1)}","dest_port":${dns ? 53 : 443},"proto":"${dns ? "UDP" : "TCP"}","app_proto":"${dns ? "dns" : "tls"}","flow":{"pkts_toserver":10,"pkts_toclient":12,"bytes_toserver":${100 + (i % 5000)},"bytes_toclient":${2000 + (i % 90000)},"start":"${iso(T0 + i * 0.01 - 30)}","end":"${ts}","age":30,"state":"closed","reason":"timeout","alerted":false}}`,
      );
    }
  }
  return out;
}

/** Sysmon as winlogbeat JSON: `n` events, of every 10: 1 process creation, 2 DNS queries, 7 connections. */
export function sysmonLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    const guid = `{3710b5c6-f3dd-6181-4000-${Math.floor(i / 10)
      .toString(16)
      .padStart(12, "0")}}`;
    const ts = `2023-11-14 22:13:${String(Math.floor((i / 100) % 60)).padStart(2, "0")}.${String(i % 1000).padStart(3, "0")}`;
    const head = `{"@timestamp":"2023-11-14T22:13:20.000Z","event":{"kind":"event"},"host":{"name":"ws01"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"ws01.corp.example","provider_name":"Microsoft-Windows-Sysmon","record_id":${i},`;
    if (k === 0)
      out.push(
        `${head}"event_id":1,"event_data":{"RuleName":"-","UtcTime":"${ts}","ProcessGuid":"${guid}","ProcessId":"${i}","Image":"C:\\\\Program Files\\\\App${i % 50}\\\\app.exe","CommandLine":"app.exe --run","User":"CORP\\\\user${i % 20}","Hashes":"SHA1=0A1B,MD5=ABCDEF0123456789ABCDEF0123456789,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,IMPHASH=00FF","ParentImage":"C:\\\\Windows\\\\explorer.exe"}}}`,
      );
    else if (k <= 2)
      out.push(
        `${head}"event_id":22,"event_data":{"RuleName":"-","UtcTime":"${ts}","ProcessGuid":"${guid}","ProcessId":"${i}","QueryName":"host${i % 300}.example.com","QueryStatus":"0","QueryResults":"type:  5 cdn${i % 300}.example.net;::ffff:${remote(i)};","Image":"C:\\\\Program Files\\\\App${i % 50}\\\\app.exe"}}}`,
      );
    else
      out.push(
        `${head}"event_id":3,"event_data":{"RuleName":"-","UtcTime":"${ts}","ProcessGuid":"${guid}","ProcessId":"${i}","Image":"C:\\\\Program Files\\\\App${i % 50}\\\\app.exe","User":"CORP\\\\user${i % 20}","Protocol":"tcp","Initiated":"true","SourceIsIpv6":"false","SourceIp":"${ip(i % 500)}","SourceHostname":"-","SourcePort":"${40000 + (i % 20000)}","SourcePortName":"-","DestinationIsIpv6":"false","DestinationIp":"${remote(i - k + 1)}","DestinationHostname":"-","DestinationPort":"443","DestinationPortName":"https"}}}`,
      );
  }
  return out;
}

/** osquery differential results of netanomaly-pack.conf: `n` lines, 1 in 10 `removed`. */
export function osqueryLines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      `{"name":"pack_netanomaly_netanomaly_sockets","hostIdentifier":"host${i % 40}","calendarTime":"Tue Nov 14 22:13:20 2023 UTC","unixTime":${T0 + Math.floor(i / 100)},"epoch":0,"counter":${i},"numerics":false,"columns":{"pid":"${1000 + (i % 3000)}","family":"2","protocol":"6","local_address":"${ip(i % 500)}","local_port":"${40000 + (i % 20000)}","remote_address":"${remote(i)}","remote_port":"443","state":"ESTABLISHED","path":"/usr/bin/app${i % 50}","name":"app${i % 50}","username":"user${i % 20}","parent_name":"systemd","parent_path":"/usr/lib/systemd/systemd","sha256":"5c0d0b6f0d8c3a7f0a4c2b1e9d8f7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e"},"action":"${i % 10 === 9 ? "removed" : "added"}"}`,
    );
  }
  return out;
}
