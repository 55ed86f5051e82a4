import { describe, expect, it } from "vitest";
import { fieldsOf } from "./export-packets.js";
import { makeTemplate, TemplateCache } from "./templates.js";

const scope = { exporter: "192.0.2.1", domain: 0, version: 10 };
const t = (id: number, length = 4) => makeTemplate(id, fieldsOf([[8, length]]));

describe("TemplateCache", () => {
  it("tells a new template, a refresh and a change apart", () => {
    const c = new TemplateCache<string>();
    expect(c.set(scope, t(256), 0)).toBe("new");
    expect(c.set(scope, t(256), 1)).toBe("refreshed");
    expect(c.set(scope, t(256, 16), 2)).toBe("changed");
    expect(c.get(scope, 256, 2)?.minLength).toBe(16);
    expect(c.get({ ...scope, version: 9 }, 256, 2)).toBeUndefined();
  });

  it("forgets a template not announced again within its lifetime (RFC 7011 §8.4)", () => {
    const c = new TemplateCache<string>({ lifetimeMs: 1000 });
    c.set(scope, t(256), 0);
    expect(c.get(scope, 256, 1000)).toBeDefined();
    c.set(scope, t(256), 1000); // refreshed
    expect(c.get(scope, 256, 2000)).toBeDefined();
    expect(c.get(scope, 256, 2001)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("keeps at most maxTemplates, dropping the least recently announced", () => {
    const c = new TemplateCache<string>({ maxTemplates: 3 });
    for (const id of [256, 257, 258]) c.set(scope, t(id), 0);
    c.set(scope, t(256), 1); // refreshed: now the newest
    c.set(scope, t(259), 2);
    expect([256, 257, 258, 259].map((id) => c.get(scope, id, 2) !== undefined)).toEqual([
      true,
      false,
      true,
      true,
    ]);
  });

  it("withdraws one template or all of a scope", () => {
    const c = new TemplateCache<string>();
    for (const id of [256, 257]) c.set(scope, t(id), 0);
    c.set({ ...scope, domain: 1 }, t(256), 0);
    expect(c.withdraw(scope, 256)).toBe(true);
    expect(c.withdraw(scope, 256)).toBe(false);
    expect(c.withdrawAll(scope)).toBe(1);
    expect(c.get({ ...scope, domain: 1 }, 256, 0)).toBeDefined();
  });

  it("holds data sets for a bounded time and number, releasing them with their template", () => {
    const c = new TemplateCache<string>({ holdMs: 100, maxHeld: 2 });
    expect(c.hold(scope, 300, "a", 0)).toEqual([]);
    expect(c.hold(scope, 301, "b", 10)).toEqual([]);
    expect(c.hold(scope, 300, "c", 20).map((h) => h.item)).toEqual(["a"]); // pushed out
    expect(c.release(scope, 300).map((h) => h.item)).toEqual(["c"]);
    expect(c.expire(109)).toEqual([]);
    expect(c.expire(110).map((h) => h.item)).toEqual(["b"]);
    expect(c.heldCount).toBe(0);
  });
});
