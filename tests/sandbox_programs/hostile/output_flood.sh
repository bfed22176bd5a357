# yes never stops.
yes
