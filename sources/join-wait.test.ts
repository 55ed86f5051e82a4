import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map.js";
import { JoinWait } from "./join-wait.js";

describe("JoinWait", () => {
  it("gives records to their partner, or lets them go after maxLines", () => {
    const w = new JoinWait<string, string>({ maxLines: 10, maxPending: 100 });
    w.hold("a", "a1", 1);
    w.hold("b", "b1", 2);
    w.hold("a", "a2", 3);
    expect(w.take("a")).toEqual(["a1", "a2"]);
    expect(w.expired(11)).toEqual([]);
    expect(w.expired(12)).toEqual(["b1"]);
    expect(w.size).toBe(0);
  });

  it("does not let a younger record go early because an older one was taken", () => {
    const w = new JoinWait<string, string>({ maxLines: 10, maxPending: 100 });
    w.hold("a", "a1", 1);
    w.hold("b", "b1", 8);
    w.take("a");
    expect(w.expired(12)).toEqual([]);
    expect(w.expired(18)).toEqual(["b1"]);
  });

  it("pushes the oldest out when more than maxPending wait", () => {
    const w = new JoinWait<number, number>({ maxLines: 1000, maxPending: 2 });
    expect(w.hold(1, 1, 1)).toEqual([]);
    expect(w.hold(2, 2, 2)).toEqual([]);
    expect(w.hold(3, 3, 3)).toEqual([1]);
    expect(w.drain()).toEqual([2, 3]);
  });
});

describe("BoundedMap", () => {
  it("drops the entry set longest ago when full, counting it", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("a", 3);
    m.set("c", 4);
    expect(m.get("b")).toBeUndefined();
    expect(m.get("a")).toBe(3);
    expect(m.get("c")).toBe(4);
    expect(m.evicted).toBe(1);
  });
});
