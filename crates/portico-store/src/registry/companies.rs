use super::{corrupt, record};
use crate::{Store, entity::company, storage};
use async_trait::async_trait;
use portico_domain::{
    AuditEvent, Change, Company, CompanyId, DomainResult, Edition, repo::CompanyStore,
};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryOrder};

fn to_domain(m: company::Model) -> DomainResult<Company> {
    Ok(Company {
        id: CompanyId(m.id),
        edition: Edition::parse(&m.edition).ok_or_else(|| corrupt("edition", &m.edition))?,
        name: m.name,
        domain: m.domain,
        development_partner: m.development_partner,
        enabled: m.enabled,
        created_at: m.created_at,
    })
}

fn to_model(c: &Company) -> company::Model {
    company::Model {
        id: c.id.0,
        name: c.name.clone(),
        domain: c.domain.clone(),
        edition: c.edition.as_str().to_owned(),
        development_partner: c.development_partner,
        enabled: c.enabled,
        created_at: c.created_at,
        updated_at: chrono::Utc::now(),
    }
}

#[async_trait]
impl CompanyStore for Store {
    async fn insert_company(&self, company: &Company, audit: &AuditEvent) -> DomainResult<()> {
        let txn = self.begin().await?;
        company::Entity::insert(to_model(company).into_active_model())
            .exec(&txn)
            .await
            .map_err(storage)?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn company(&self, id: CompanyId) -> DomainResult<Option<Company>> {
        company::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain)
            .transpose()
    }

    async fn companies(&self) -> DomainResult<Vec<Company>> {
        company::Entity::find()
            .order_by_asc(company::Column::Name)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update_company(&self, company: &Company, audit: &AuditEvent) -> DomainResult<()> {
        let txn = self.begin().await?;
        let mut am = to_model(company).into_active_model().reset_all();
        am.created_at = sea_orm::ActiveValue::NotSet;
        am.update(&txn).await.map_err(storage)?;
        record(&txn, audit).await?;
        self.commit(txn, &[Change::Company(company.id)])
            .await
            .map_err(storage)
    }

    async fn count_companies(&self) -> DomainResult<u64> {
        company::Entity::find()
            .count(&self.db)
            .await
            .map_err(storage)
    }
}
