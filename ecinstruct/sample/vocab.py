"""The invented catalog behind the embedded sample: brands, product types, categories, attributes.

Everything here is made up for this package (no text comes from Amazon, MAVE, ESCI or AmazonQA).
The vocabularies are deliberately small and regular so that each task carries a clear signal a
135M model can pick up from a few dozen examples (see the per-task modules).
"""

from __future__ import annotations

from dataclasses import dataclass

# Domains of the sample, mirroring the paper's IND / OOD category split (OOD: Tools for
# the review tasks, Cell Phones for the question tasks).
ELECTRONICS = "Electronics"
HOME = "Home & Kitchen"
SPORTS = "Sports & Outdoors"
TOOLS = "Tools & Home Improvement"
PHONES = "Cell Phones & Accessories"
IND_CATEGORIES: tuple[str, ...] = (ELECTRONICS, HOME, SPORTS)


@dataclass(frozen=True)
class ProductType:
    """A kind of product: its name, two category levels, spec phrases and typical accessories."""

    name: str
    category: str
    subcategory: str
    specs: tuple[str, ...]
    accessories: tuple[str, ...]


# One product type per line: "<Type>: <spec>; <spec>; ... | <accessory>; <accessory>; ...",
# under "== <category> / <sub-category>" headers.
_CATALOG = """
== Electronics / Headphones
Wireless Earbuds: Noise Cancelling; Bluetooth 5.3; Sweatproof | Silicone Ear Tips; Charging Case Cover
Over-Ear Headphones: Studio Monitor; Foldable; Low Latency | Headphone Stand; Replacement Ear Pads
== Electronics / Cameras
Mirrorless Camera: 24MP; 4K Video; Compact | Camera Sling Bag; Lens Cleaning Kit
Action Camera: Waterproof; 5K Ultra HD; Stabilized | Chest Mount Harness; Spare Battery Pack
== Electronics / Computers
Mechanical Keyboard: Hot-Swappable; Tenkeyless; RGB Backlit | Wrist Rest; Keycap Set
Wireless Mouse: Ergonomic; Silent Click; Rechargeable | Mouse Pad; USB Receiver Dongle
USB-C Hub: 7-in-1; Aluminum Shell; 100W Pass-Through | Braided USB-C Cable; Travel Pouch
== Electronics / Portable Audio
Bluetooth Speaker: Portable; Waterproof; 360 Degree Sound | Carrying Case; Wall Mount Bracket
== Home & Kitchen / Kitchen
Chef Knife: 8 Inch; High Carbon; Forged | Knife Sharpener; Magnetic Knife Strip
Espresso Machine: 15 Bar; Semi-Automatic; Dual Boiler | Milk Frothing Pitcher; Coffee Tamper
Countertop Blender: 1200 Watt; Variable Speed; Glass Jar | Blender Tamper; Replacement Blade Assembly
Skillet: Nonstick; Pre-Seasoned; Induction Ready | Silicone Handle Holder; Splatter Screen
== Home & Kitchen / Bedding
Duvet Cover Set: Breathable; Wrinkle Resistant; Brushed | Duvet Insert; Pillow Shams
Memory Foam Pillow: Cooling Gel; Contour; Adjustable Loft | Pillow Protector; Pillowcase Pair
== Home & Kitchen / Storage
Shoe Rack: 4-Tier; Stackable; Expandable | Shoe Rack Cover; Boot Shaper Inserts
== Home & Kitchen / Air Quality
Air Purifier: HEPA; Quiet Sleep Mode; Smart | Replacement HEPA Filter; Carbon Pre-Filter
Space Heater: Ceramic; Oscillating; Tip-Over Protection | Heater Dust Cover; Timer Plug
== Sports & Outdoors / Camping
Camping Tent: 2-Person; Ultralight; Instant Setup | Tent Footprint; Aluminum Tent Stakes
Sleeping Bag: Mummy; 20 Degree; Packable | Compression Sack; Sleeping Bag Liner
Hiking Backpack: 40L; Ventilated; Rain Cover Included | Hydration Bladder; Backpack Rain Cover
== Sports & Outdoors / Fitness
Yoga Mat: Extra Thick; Non-Slip; Eco-Friendly | Yoga Mat Strap; Yoga Block Pair
Adjustable Dumbbell: 25 lb; Quick-Select; Space-Saving | Dumbbell Stand; Workout Gloves
== Sports & Outdoors / Cycling
Bike Helmet: MIPS; Ventilated; Lightweight | Helmet Visor; Helmet Light Clip
Bike Light Set: USB Rechargeable; 1000 Lumen; Weatherproof | Handlebar Mount; Seatpost Clamp
== Tools & Home Improvement / Power Tools
Cordless Drill: 20V; Brushless; Compact | Drill Bit Set; Spare Lithium Battery
Circular Saw: 7-1/4 Inch; 15 Amp; Laser Guide | Carbide Saw Blade; Dust Bag
Impact Driver: 1/4 Inch Hex; 3-Speed; Brushless | Impact Bit Set; Belt Clip
== Tools & Home Improvement / Hand Tools
Socket Set: Metric; 72-Tooth Ratchet; Chrome Vanadium | Socket Organizer Rail; Extension Bar
Tape Measure: 25 Ft; Magnetic Tip; Shock Resistant | Tool Belt Clip; Carpenter Pencil Pack
== Tools & Home Improvement / Lighting
LED Shop Light: 4 Ft; 5000K Daylight; Linkable | Hanging Chain Kit; Connector Cord
Ceiling Fan: 52 Inch; Reversible Motor; Remote Control | Downrod Extension; Fan Light Kit
== Tools & Home Improvement / Safety
Work Gloves: Cut Resistant; Touchscreen; Insulated | Glove Clip; Grip Spray
Safety Glasses: Anti-Fog; Wraparound; Tinted | Lens Cleaning Wipes; Glasses Cord
== Cell Phones & Accessories / Cases
Phone Case: Shockproof; Slim Fit; Magnetic | Screen Protector; Wrist Lanyard
Screen Protector: Tempered Glass; Privacy; Anti-Glare | Installation Frame; Phone Case
== Cell Phones & Accessories / Chargers
Power Bank: 10000mAh; Fast Charging; Pocket-Size | Charging Cable; Carrying Pouch
Wireless Charger: 15W; 3-in-1; Foldable | USB-C Wall Adapter; Charging Cable
Car Phone Mount: Dashboard; Vent Clip; One-Touch | Adhesive Pad Refill; Car Charger
"""


def _parse_catalog(text: str) -> tuple[ProductType, ...]:
    types, category, subcategory = [], "", ""
    for line in filter(None, map(str.strip, text.splitlines())):
        if line.startswith("=="):
            category, subcategory = (part.strip() for part in line[2:].split("/"))
            continue
        name, rest = line.split(":", 1)
        specs, accessories = (tuple(x.strip() for x in part.split(";")) for part in rest.split("|"))
        types.append(ProductType(name, category, subcategory, specs, accessories))
    return tuple(types)


PRODUCT_TYPES: tuple[ProductType, ...] = _parse_catalog(_CATALOG)

# Invented brand names per category (with a model-number prefix each).
BRANDS: dict[str, tuple[str, ...]] = {
    ELECTRONICS: ("Zyntra", "Volmora", "Quellix", "Auralon", "Brivex", "Lumetto", "Sonvara", "Keplo"),
    HOME: ("Hearthwell", "Cozmina", "Tavell\u00e9", "Ovenry", "Brookmere", "Nestaro", "Calvina", "Pomello"),
    SPORTS: ("Trailvane", "Summitra", "Ridgeko", "Pacewild", "Altoura", "Cragmoor", "Velocim", "Drifton"),
    TOOLS: ("Forgeline", "Torqmax", "Boltcraft", "Irongale", "Steadrill", "Rivetto", "Quarrix", "Benchley"),
    PHONES: ("Glimora", "Chargio", "Armorlet", "Snapvolt", "Tekkura", "Pluvio", "Mobixa", "Cellora"),
}

COLORS: tuple[str, ...] = (
    "Black", "White", "Navy Blue", "Forest Green", "Crimson Red", "Slate Gray",
    "Sand Beige", "Teal", "Burnt Orange", "Lavender", "Charcoal", "Ivory",
)
MATERIALS: tuple[str, ...] = (
    "Stainless Steel", "Bamboo", "Cotton", "Aluminum", "Silicone", "Walnut Wood",
    "Leather", "Ceramic", "Nylon", "Polyester", "Linen", "Carbon Fiber",
)
SIZES: tuple[str, ...] = ("Queen Size", "King Size", "Extra Large", "Pocket Size", "Family Size", "Travel Size")
STYLES: tuple[str, ...] = ("Modern", "Vintage", "Minimalist", "Rustic", "Industrial", "Scandinavian")
CAPACITIES: tuple[str, ...] = ("32 oz", "1.5 liter", "64 oz", "2 quart", "500 ml", "12 cups")
PATTERNS: tuple[str, ...] = ("Striped", "Floral", "Plaid", "Polka Dot", "Herringbone", "Camouflage")
POWER_SOURCES: tuple[str, ...] = ("Battery Powered", "Corded Electric", "Solar Powered", "USB Powered")

# AVE attributes (MAVE-style capitalised names); the OOD ones never occur in IND rows.
AVE_IND_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Color": COLORS, "Material": MATERIALS, "Size": SIZES, "Style": STYLES,
}
AVE_OOD_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Capacity": CAPACITIES, "Pattern": PATTERNS, "Power Source": POWER_SOURCES,
}

VARIANTS: tuple[str, ...] = ("2 Pack", "3 Pack", "Value Bundle", "Gift Box", "Refurbished", "2024 Edition")
OTHER_WORDS: tuple[str, ...] = ("Gen 2", "Pro", "Plus", "Lite", "Max", "Mini", "Elite", "Classic")

# Sentiment phrases by star rating (5 = very positive ... 1 = very negative).
REVIEW_OPENERS: dict[int, tuple[str, ...]] = {
    5: ("Absolutely love this {t}!", "Best {t} I have ever owned.", "This {t} exceeded every expectation.",
        "Wow, what a fantastic {t}.", "Perfect {t}, I am thrilled.", "Outstanding {t} in every way."),
    4: ("Really good {t} overall.", "Solid {t} that works well.", "Pretty happy with this {t}.",
        "Nice {t}, does what it promises.", "Good {t} for the money.", "I like this {t} quite a bit."),
    3: ("This {t} is okay, nothing special.", "Mixed feelings about this {t}.", "An average {t}.",
        "The {t} is fine, I guess.", "It\u2019s a so-so {t}.", "Middle of the road {t}."),
    2: ("Disappointed with this {t}.", "Not a great {t}, sadly.", "This {t} let me down.",
            "Below average {t}.", "I expected more from this {t}.", "The {t} feels cheap."),
    1: ("Terrible {t}, broke on day two.", "Worst {t} I have ever bought.", "Complete waste of money.",
        "Awful {t}, do not buy.", "This {t} is junk.", "Horrible {t}, totally useless."),
}
REVIEW_MIDDLES: tuple[str, ...] = (
    "I bought it for {p}.", "We use it for {p}.", "Got it last month for {p}.", "Ordered it for {p}.",
    "It came two days after I ordered it.", "My sister recommended it for {p}.",
)
REVIEW_PURPOSES: tuple[str, ...] = (
    "my new apartment", "weekend trips", "my daily routine", "the garage", "a birthday gift",
    "my home office", "the cabin", "everyday use",
)
REVIEW_CLOSERS: dict[int, tuple[str, ...]] = {
    5: ("Highly recommend it!", "Worth every penny.", "Five stars, would buy again.",
        "I would buy it again in a heartbeat.", "Couldn't be happier."),
    4: ("Only a minor gripe, otherwise great.", "Would recommend with small reservations.",
        "Good value, I would buy it again.", "Four stars, close to perfect."),
    3: ("It does the job, but I expected a bit more.", "Average quality for the price.",
        "Not bad, not great.", "Some things work, some don\u2019t."),
    2: ("Probably would not buy it again.", "Quality could be much better.",
        "Returned it for something else.", "Two stars, sadly."),
    1: ("Returned it immediately.", "Avoid at all costs.", "Want my money back.",
        "Zero stars if I could."),
}

# Review snippets that mention no answerable property (AP/AG filler).
FILLER_SNIPPETS: tuple[str, ...] = (
    "Arrived quickly and well packaged.", "Looks exactly like the pictures.",
    "My husband uses it every weekend.", "Bought a second one for my parents.",
    "The {t} feels well made.", "Great gift idea for a friend.",
    "Customer support replied the same day.", "I have had it for three months now.",
    "The {t} looks nice in our house.", "Shipping took a little longer than expected.",
    "Good price compared to the store.", "My kids fight over who gets to use it.",
)


@dataclass(frozen=True)
class QAProperty:
    """Something shoppers ask about: question forms, a review fact stating a value, an answer form.

    A snippet *mentions* the property iff it contains one of ``keywords`` (no other snippet text
    does), which is what makes an AP question answerable.
    """

    keywords: tuple[str, ...]
    questions: tuple[str, ...]
    facts: tuple[str, ...]
    answers: tuple[str, ...]
    values: tuple[str, ...]


QA_PROPERTIES: tuple[QAProperty, ...] = (
    QAProperty(
        keywords=("weigh",),
        questions=("How much does this {t} weigh?", "What does it weigh?", "Is the {t} heavy? What does it weigh?"),
        facts=("It weighs about {v}, easy to carry around.", "Mine weighs {v} on the kitchen scale."),
        answers=("It weighs about {v}.", "About {v}, so it is easy to carry."),
        values=("1.2 pounds", "3 pounds", "14 ounces", "5.5 pounds", "2 kilograms"),
    ),
    QAProperty(
        keywords=("waterproof",),
        questions=("Is this {t} waterproof?", "Is it waterproof?", "Can I trust it to be waterproof outdoors?"),
        facts=("It is waterproof, it stayed dry after {v}.", "Totally waterproof, survived {v} with no issues."),
        answers=("Yes, it is waterproof; it survived {v} without a problem.", "Yes, it stayed dry after {v}."),
        values=("a heavy storm", "an hour of rain", "a drop in the lake", "a wash in the sink"),
    ),
    QAProperty(
        keywords=("warranty",),
        questions=("Does the {t} come with a warranty?", "How long is the warranty?", "What warranty does it have?"),
        facts=("The warranty is {v}, registering took a minute.", "It comes with a {v} warranty."),
        answers=("It has a {v} warranty.", "The warranty covers {v}."),
        values=("one year", "two years", "90 days", "five years", "six months"),
    ),
    QAProperty(
        keywords=("assemble", "assembly"),
        questions=("Is the {t} hard to assemble?", "How long does assembly take?", "Does it need assembly?"),
        facts=("Assembly took me about {v} with no tools.", "Easy to assemble, done in {v}."),
        answers=("Assembly takes about {v} and needs no tools.", "It is easy; assembly took about {v}."),
        values=("10 minutes", "half an hour", "5 minutes", "15 minutes", "an hour"),
    ),
    QAProperty(
        keywords=("noise", "noisy", "loud"),
        questions=("Is the {t} loud?", "How much noise does it make?", "Is it noisy?"),
        facts=("The noise level is low, about like {v}.", "Not loud at all, it sounds like {v}."),
        answers=("It is not loud; it sounds about like {v}.", "Very little noise, about like {v}."),
        values=("a quiet fan", "a whisper", "a refrigerator hum", "soft rain"),
    ),
    QAProperty(
        keywords=("battery",),
        questions=("How long does the battery last?", "What is the battery life of the {t}?", "Is the battery good?"),
        facts=("The battery lasts about {v} on a full charge.", "Battery life is around {v} for me."),
        answers=("The battery lasts about {v} per charge.", "Around {v} on a full battery."),
        values=("8 hours", "two days", "a full week", "5 hours", "12 hours"),
    ),
    QAProperty(
        keywords=("inches",),
        questions=("What are the dimensions?", "How big is the {t}?", "What size is it in inches?"),
        facts=("It measures {v} inches, smaller than I expected.", "The box says {v} inches and that is accurate."),
        answers=("It measures about {v} inches.", "About {v} inches."),
        values=("10 x 6 x 3", "12 x 12 x 4", "8 x 5 x 2", "20 x 14 x 9"),
    ),
)
