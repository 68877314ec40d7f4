"""What the ops team can do, whether from the console (a person) or the API (automation with
the ops token): each action in one place, audited, used by both surfaces."""
