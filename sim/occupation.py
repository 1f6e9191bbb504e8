"""The occupation groups of the demand side, in the order of every array's group axis.

Groups follow the Labour and Welfare Bureau's Report on 2023 Manpower Projection (14 Nov 2024),
which publishes the 2028 shortage for the first four; `other` (mainly clerical support) closes
the total.
"""

OCCUPATIONS: tuple[str, ...] = ("managers_professionals", "skilled_technical", "service", "manual", "other")

LABELS: dict[str, str] = {
    "managers_professionals": "Managers & professionals",
    "skilled_technical": "Skilled technical",
    "service": "Service",
    "manual": "Manual / elementary",
    "other": "Other (clerical etc.)",
}
