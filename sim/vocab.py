"""The model's shared vocabulary: pathway states, placement types and care exit reasons.

Calibration maps SSDA903 and CIN census codes onto these names; measures and costs key on them.
Keep them stable: output files and scripts rely on them.
"""
from __future__ import annotations

from .placements import GROUPS, PLACEMENTS

# Where a child is on the pathway. "out" means no open involvement with children's social care.
STATES = (
    "contact",        # contact received, awaiting or under front-door (MASH) screening
    "assessment",     # referral accepted, statutory assessment under way
    "cin",            # child in need plan
    "s47",            # section 47 enquiry, up to the initial child protection conference
    "cp",             # child protection plan
    "care",           # looked after (child in care)
    "out",
)

# Placement types of a child in care, and what a child in care needs (the placement search turns a
# need into a placement type): derived from the one table of placement types, sim/placements.py
# (SSDA903 codes, capacity, fallbacks, costs and labels are there).
PLACEMENT_TYPES = tuple(p.name for p in PLACEMENTS)
PLACEMENT_NEEDS = tuple(g.name for g in GROUPS)

# Reasons a period of care ends.
EXIT_REASONS = (
    "reunification",          # return home (E4A, E4B, E13)
    "sgo",                    # special guardianship order (E45-E48)
    "cao",                    # child arrangements order (E41)
    "adoption",               # adopted (E11, E12)
    "age18",                  # turned 18 / moved to adulthood (E5, E6, E7, E15, E17)
    "other",                  # everything else (E2, E3, E8, E9, E14, E16)
)

# Broad groups used in charts and the published figures (each also the need it meets).
PLACEMENT_GROUP = {p.name: p.group for p in PLACEMENTS}
