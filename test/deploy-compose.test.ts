import { describe, expect, it } from "vitest";
import { parseYaml, runProcess } from "./deploy-harness.js";

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  profiles?: string[];
  scale?: number;
  volumes?: ({ source: string; target: string; read_only?: boolean } | string)[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  ports?: { published: number | string; target: number }[];
}

/** The environment of a compose run: the one value the file requires, set. */
const env = { ...process.env, NETANOMALY_API_KEY: "test-key-1" };

/** `docker-compose config` for the given profiles: validated, interpolated, as an object. */
async function composeConfig(profiles: string[] = []) {
  const args = [...profiles.flatMap((p) => ["--profile", p]), "-f", "docker-compose.yml", "config"];
  const run = await runProcess("docker-compose", args, { env });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const [config] = (await parseYaml(run.stdout)) as [{ services: Record<string, ComposeService> }];
  return config.services;
}

describe("docker-compose.yml", () => {
  it("passes docker-compose config -q", async () => {
    const run = await runProcess("docker-compose", ["-f", "docker-compose.yml", "config", "-q"], {
      env,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("refuses to start without NETANOMALY_API_KEY: no key is built in", async () => {
    const { NETANOMALY_API_KEY: _, ...bare } = env;
    const run = await runProcess("docker-compose", ["-f", "docker-compose.yml", "config", "-q"], {
      env: bare,
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("set NETANOMALY_API_KEY");
  });

  it("gives the servers the key as API_KEYS and the agents as NETANOMALY_API_KEY", async () => {
    const services = await composeConfig(["scale"]);
    for (const name of ["server", "server-replica"]) {
      expect(services[name]?.environment?.API_KEYS).toBe("test-key-1");
    }
    for (const name of ["agent", "agent-balanced"]) {
      expect(services[name]?.environment?.NETANOMALY_API_KEY).toBe("test-key-1");
    }
  });

  it("passes docker-compose --profile scale config -q", async () => {
    const run = await runProcess(
      "docker-compose",
      ["--profile", "scale", "-f", "docker-compose.yml", "config", "-q"],
      { env },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("runs server and agent by default, the agent once the server is healthy", async () => {
    const services = await composeConfig();
    // config lists every service; those without a profile are the default set.
    const defaults = Object.entries(services).filter(([, s]) => s.profiles === undefined);
    expect(defaults.map(([name]) => name).sort()).toEqual(["agent", "server"]);
    const { server, agent } = services as { server: ComposeService; agent: ComposeService };
    expect(server.build).toBeDefined();
    expect(server.healthcheck?.test).toEqual(["CMD", "node", "dist/deploy/healthcheck.js"]);
    expect(server.environment).toMatchObject({
      NETANOMALY_HOST: "0.0.0.0",
      NETANOMALY_PORT: "50051",
    });
    expect(server.volumes).toEqual([expect.stringMatching(/\/models:\/app\/models:ro$/)]);
    expect(agent.depends_on).toEqual({ server: { condition: "service_healthy" } });
    expect(agent.command).toContain("http://server:50051");
  });

  it("puts replicas behind the nginx balancer in profile scale, and points an agent at it", async () => {
    const services = await composeConfig(["scale"]);
    const replica = services["server-replica"] as ComposeService;
    const balancer = services.balancer as ComposeService;
    const agent = services["agent-balanced"] as ComposeService;
    expect(replica.scale).toBe(3);
    expect(replica.image).toBe(services.server?.image);
    expect(balancer.depends_on).toEqual({ "server-replica": { condition: "service_healthy" } });
    // Short syntax survives config as "<absolute source>:<target>:ro".
    const mounts = (balancer.volumes ?? []).map((v) => (typeof v === "string" ? v : v.target));
    expect(mounts).toEqual([
      expect.stringMatching(/\/deploy\/nginx\/nginx\.conf:\/etc\/nginx\/nginx\.conf:ro$/),
      expect.stringMatching(/\/deploy\/nginx\/upstream\.conf:\/etc\/nginx\/upstream\.conf:ro$/),
    ]);
    for (const name of ["server-replica", "balancer", "agent-balanced"]) {
      expect(services[name]?.profiles).toEqual(["scale"]);
    }
    expect(agent.command).toContain("http://balancer:8080");
  });

  it("takes the replica count from NETANOMALY_REPLICAS", async () => {
    const run = await runProcess(
      "docker-compose",
      ["--profile", "scale", "-f", "docker-compose.yml", "config"],
      { env: { ...env, NETANOMALY_REPLICAS: "5" } },
    );
    expect(run.code).toBe(0);
    const [config] = (await parseYaml(run.stdout)) as [
      { services: Record<string, ComposeService> },
    ];
    expect(config.services["server-replica"]?.scale).toBe(5);
  });
});
