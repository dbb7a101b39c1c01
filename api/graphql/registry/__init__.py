"""The shared registry (一表同享): staff search people, houses and enterprises, masked."""
