# Terraform and provider requirements for the GCS side of a firedrill deployment.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source = "hashicorp/google"
      # soft_delete_policy on google_storage_bucket needs 5.22 or later.
      version = ">= 5.30, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
}
