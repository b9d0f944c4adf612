"""The model's shared vocabulary: pathway states, placement types and care exit reasons.

Calibration maps SSDA903 and CIN census codes onto these names; measures and costs key on them.
Keep them stable: output files and scripts rely on them.
"""
from __future__ import annotations

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

# Placement types of a child in care. Capacity-limited types have a fallback.
PLACEMENT_TYPES = (
    "kinship",                # connected / family and friends carer (SSDA903 U1-U3)
    "foster_inhouse",         # council's own foster carers (U4-U6 with PR1-PR3)
    "foster_ifa",             # independent fostering agency (U4-U6 with PR4/PR5)
    "residential_inhouse",    # council's own children's homes (K2/R1 with PR1-PR3)
    "residential_block",      # block-contracted external homes
    "residential_spot",       # spot-purchased external homes (the residential fallback)
    "semi_independent_block", # block supported accommodation / supported lodgings (16-17s)
    "semi_independent_spot",  # spot supported accommodation (16-17s)
    "with_parents",           # placed with parents (P1)
    "other",                  # placed for adoption, temporary, secure and other (A3-A6, T0-T4, K1, Z1)
)

# What a child in care needs; the placement search turns a need into a placement type.
PLACEMENT_NEEDS = ("kinship", "foster", "residential", "semi_independent", "with_parents", "other")

# Reasons a period of care ends.
EXIT_REASONS = (
    "reunification",          # return home (E4A, E4B, E13)
    "sgo",                    # special guardianship order (E45-E48)
    "cao",                    # child arrangements order (E41)
    "adoption",               # adopted (E11, E12)
    "age18",                  # turned 18 / moved to adulthood (E5, E6, E7, E15, E17)
    "other",                  # everything else (E2, E3, E8, E9, E14, E16)
)

# Broad groups used in charts and the published figures.
PLACEMENT_GROUP = {
    "kinship": "kinship",
    "foster_inhouse": "foster",
    "foster_ifa": "foster",
    "residential_inhouse": "residential",
    "residential_block": "residential",
    "residential_spot": "residential",
    "semi_independent_block": "semi_independent",
    "semi_independent_spot": "semi_independent",
    "with_parents": "with_parents",
    "other": "other",
}
