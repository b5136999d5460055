# Terraform and provider requirements, and one AWS provider per region: "primary" holds
# the repository's primary copy (and the IAM roles, which are global), "replica" the
# off-region copy that `firedrill replicate` keeps up to date.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.92 is the first release that accepts an empty lifecycle `filter {}` without a
      # warning; the S3 resources used here are the same in 5.x and 6.x.
      version = ">= 5.92, < 7.0"
    }
  }
}

provider "aws" {
  alias  = "primary"
  region = var.primary_region

  default_tags {
    tags = var.tags
  }
}

provider "aws" {
  alias  = "replica"
  region = var.replica_region

  default_tags {
    tags = var.tags
  }
}
