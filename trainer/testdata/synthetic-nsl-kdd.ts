/** NSL-KDD-shaped rows (43 cells): deterministic, three protocols and flags. */
export function syntheticNslKdd(n: number): string {
  const protocols = ["tcp", "udp", "icmp"];
  const flags = ["SF", "S0", "REJ"];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const numeric = Array.from(
      { length: 38 },
      (_, f) => ((i * 31 + f * 17) % 97) / (f % 3 === 0 ? 1 : 97),
    );
    const [duration, ...rest] = numeric.map((v) =>
      Number.isInteger(v) ? String(v) : v.toFixed(2),
    );
    const label = i % 10 === 0 ? "neptune" : "normal";
    lines.push(
      [
        duration,
        protocols[i % 3],
        "http",
        flags[(i >> 1) % 3],
        ...rest,
        label,
        String(i % 21),
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}
