-- every run builds the profiles from scratch ("profiles for :scale customers from their lines")
TRUNCATE crm.health_profile;
