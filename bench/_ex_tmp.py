import sys, time, pickle
from matching.synthetic import make_instance
from matching.solver import solve
from bench.matching_exact import solve_exact_in_child, other_parts
if __name__ == "__main__":
    v, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    cap = float(sys.argv[4])
    p = make_instance(v, n, seed=seed, capacity_scale=cap)
    r = solve(p, polish=False)
    print("luling", r.objective, r.bound, round(r.gap*100, 3), round(r.seconds, 2), r.stats.stages, flush=True)
    e = solve_exact_in_child(p, other_parts(r), time_limit_s=float(sys.argv[5]))
    print(e)
    print("true gap %", round((r.objective - e.bound) / r.objective * 100, 3), "bound slack %", round((e.bound - r.bound) / r.objective * 100, 3))
