"""Wire formats shared by the server and the edge agent: one struct per answer, imported by both
sides so that they cannot drift apart. msgspec structs only; no logic, no imports of ours."""
