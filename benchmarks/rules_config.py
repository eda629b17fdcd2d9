"""A realistic heavy rule set for the import benchmark: 50 rules of every condition kind and 20 mappings.

Most rules fail on the generated mix (as most rules of a real desk fail on most mail), so each message
is tested against all of them: address globs, keyword searches through the whole body, subject regexes,
headers, recipient and domain lists. The last rule catches everything and runs 20 field mappings
(18 labels, 2 regexes) over every mail's body, subject or HTML table, and assigns round-robin.
"""

from __future__ import annotations

RULES = 50
MAPPINGS = 20


def people() -> str:
    """Top-level users and the team the catch-all rule assigns to."""
    users = "".join(f"  - {{name: agent{i}, email: agent{i}@desk.test}}\n" for i in range(1, 4))
    return f"users:\n{users}teams:\n  - {{name: Desk, members: [agent1, agent2, agent3]}}\n"


def rules_yaml() -> str:
    """The mailbox's `rules:` key, indented for a mailbox entry of the list under `mailboxes:`."""
    rows: list[str] = []
    for i in range(RULES - 1):
        kind = i % 5
        if kind == 0:
            cond = f'from: ["*@vendor{i}.example", "orders{i}@supplier.example"]'
        elif kind == 1:
            cond = f'keyword: {{text: ["leaking boiler {i}", "burst pipe {i}"], in: [body]}}'
        elif kind == 2:
            cond = f'keyword: {{regex: "WO-{i:03d}-\\\\d+", in: [subject]}}'
        elif kind == 3:
            cond = f"header: {{X-Project: project-{i}}}"
        else:
            cond = f'from_domain: [partner{i}.example], to: ["jobs+{i}@desk.test"]'
        head = f"name: rule {i:02d}, order: {10 * (i + 1)}"
        rows.append(f"      - {{{head}, {cond}, category: cat{i}, priority: high}}\n")
    mappings = "".join(
        f'          - {{field: field_{j:02d}, start: "Label number {j}:", source: '
        f"{'html_table' if j % 6 == 5 else 'body'}}}\n"
        for j in range(MAPPINGS - 2)
    )
    mappings += '          - {regex: "PO[- ]?(?P<purchase_order>\\\\d{5,})", source: body}\n'
    mappings += '          - {regex: "\\\\[(?P<site_code>[A-Z]{3}-\\\\d{2})\\\\]", source: subject}\n'
    rows.append(
        "      - name: everything else\n        order: 1000\n        category: General\n"
        "        tags: [imported]\n        team: Desk\n        assign: {round_robin: Desk}\n"
        f"        mappings:\n{mappings}"
    )
    return "    rules:\n" + "".join(rows)
